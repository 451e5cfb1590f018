"""Deterministic, realistic demo and benchmark data, bulk-inserted.

The same `seed` always gives the same rows: users with names, posts with
titles, summaries and bodies of a realistic length, tags used with a skewed
(Zipf-like) distribution, publication dates spread over four years before a
fixed date, a few drafts, comments, follows and favourites.

Speed comes from three choices: ids are assigned here, so related rows need no
round trip to learn them; text is assembled from a pool of sentences made once
rather than word by word; and rows go in with PostgreSQL's COPY (an
executemany on SQLite) in large batches. Every seeded account shares one
password hash, computed once: argon2id is deliberately slow and 1,000 hashes
would take minutes. The maintained counts need no step here: the database's
triggers (app/models/counting.py) count the rows as the COPY puts them in.
"""

import random
from datetime import UTC, datetime, timedelta
from itertools import accumulate, islice

from sqlalchemy import func, insert, select, text

from app.extensions import db
from app.models import Category, Comment, Favorite, Follow, Post, Tag, User, post_tags
from app.services.passwords import hash_password
from app.services.slugs import slugify

SEED_PASSWORD = "folio-demo-password"
SEED_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)  # fixed, so the same seed gives the same dates
SPAN = timedelta(days=4 * 365)
DRAFT_SHARE = 0.05
BATCH = 5_000

# Real words the seeded text is about; "coffee" is what the benchmark searches for.
TOPIC_WORDS = [
    "system",
    "data",
    "model",
    "cache",
    "index",
    "query",
    "server",
    "client",
    "network",
    "request",
    "response",
    "design",
    "pattern",
    "service",
    "stream",
    "event",
    "queue",
    "worker",
    "thread",
    "process",
    "memory",
    "disk",
    "garden",
    "river",
    "mountain",
    "coffee",
    "travel",
    "recipe",
    "kitchen",
    "music",
    "guitar",
    "piano",
    "novel",
    "history",
    "science",
    "physics",
    "biology",
    "energy",
    "climate",
    "ocean",
    "forest",
    "city",
    "street",
    "market",
    "price",
    "budget",
    "team",
    "project",
    "sprint",
    "review",
    "release",
    "version",
    "feature",
    "bug",
    "test",
    "deploy",
    "monitor",
    "metric",
    "latency",
    "throughput",
    "scale",
    "replica",
    "shard",
    "backup",
    "morning",
    "evening",
    "winter",
    "summer",
    "journey",
    "story",
    "lesson",
    "habit",
    "focus",
    "craft",
    "tool",
]
# Common English words every text has (full-text search drops them as stop words).
FILLER_WORDS = ["the", "a", "and", "of", "to", "in", "is", "it", "that", "for", "on", "with"]
ONSETS = ["b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w"]
ONSETS += ["br", "cl", "dr", "fl", "gr", "pl", "st", "tr", "sh", "ch", "th", "z"]
NUCLEI = ["a", "e", "i", "o", "u", "ai", "ea", "ou", "io"]
CODAS = ["", "n", "r", "s", "l", "m", "t", "nd", "st", "rk"]
VOCABULARY_SIZE = 4_000


def vocabulary(size=VOCABULARY_SIZE):
    """Words in order of frequency: filler first, then made-up words with the topic
    words spread among them (one every 40 ranks from rank 60).

    Text drawn with Zipf weights from these matches searches with realistic
    selectivity: "coffee" (rank about 1,060) is in about 3% of posts, where the old
    75-word vocabulary put every topic word in nearly every post. Made from a fixed
    seed, so it is the same whatever `--seed` is.
    """
    rng = random.Random(20261127)
    seen = {*TOPIC_WORDS, *FILLER_WORDS}
    made = []
    while len(made) < size:
        syllables = rng.randint(1, 3)
        word = "".join(rng.choice(ONSETS) + rng.choice(NUCLEI) for _ in range(syllables))
        word += rng.choice(CODAS)
        if len(word) > 3 and word not in seen:
            seen.add(word)
            made.append(word)
    words = FILLER_WORDS + made
    for i, word in enumerate(TOPIC_WORDS):
        words.insert(60 + i * 40, word)
    return words


WORDS = vocabulary()
WORD_WEIGHTS = list(accumulate(1 / rank for rank in range(1, len(WORDS) + 1)))


def some_words(rng, k):
    """`k` words drawn with Zipf weights (rank n about 1/n as often as rank 1)."""
    return rng.choices(WORDS, cum_weights=WORD_WEIGHTS, k=k)


FIRST_NAMES = [
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Guido",
    "Barbara",
    "Ken",
    "Dennis",
    "Margaret",
    "Edsger",
    "Donald",
    "Frances",
    "Radia",
    "Tim",
    "Leslie",
    "John",
    "Sophie",
    "Yukihiro",
    "Anders",
    "Bjarne",
    "Katherine",
    "Hedy",
    "Joan",
    "Niklaus",
]
LAST_NAMES = [
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Rossum",
    "Liskov",
    "Thompson",
    "Ritchie",
    "Hamilton",
    "Dijkstra",
    "Knuth",
    "Allen",
    "Perlman",
    "Lee",
    "Lamport",
    "Backus",
    "Wilson",
    "Matsumoto",
    "Hejlsberg",
    "Stroustrup",
]
CATEGORIES = ("Engineering", "Science", "Travel", "Food", "Music", "Books", "Culture", "Ideas")
TAG_NAMES = [
    "python",
    "flask",
    "postgres",
    "sqlite",
    "redis",
    "docker",
    "linux",
    "rust",
    "go",
    "javascript",
    "css",
    "html",
    "api",
    "http",
    "security",
    "testing",
    "performance",
    "design",
    "ux",
    "mobile",
    "cloud",
    "devops",
    "database",
    "career",
    "writing",
    "books",
    "travel",
    "food",
    "coffee",
    "music",
    "photography",
    "hiking",
    "cycling",
    "running",
    "science",
    "space",
    "climate",
    "history",
    "economics",
    "startups",
    "productivity",
    "opensource",
    "tutorial",
    "howto",
    "opinion",
    "news",
    "review",
    "interview",
    "beginners",
    "advanced",
]


def sentence_pool(rng, size=20_000):
    """Sentences of 6 to 18 words; bodies and comments are drawn from these."""
    pool = []
    for _ in range(size):
        words = some_words(rng, rng.randint(6, 18))
        pool.append(" ".join(words).capitalize() + ".")
    return pool


def paragraphs(rng, pool, count, sentences):
    return "\n\n".join(" ".join(rng.choices(pool, k=sentences)) for _ in range(count))


def when(rng):
    """A moment in the four years before SEED_EPOCH, to the second."""
    return SEED_EPOCH - timedelta(seconds=rng.randrange(int(SPAN.total_seconds())))


def make_users(rng, count, password_hash):
    for i in range(1, count + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        username = f"{first.lower()}_{last.lower()}{i}"
        yield {
            "id": i,
            "username": username,
            "email": f"{username}@example.com",
            "password_hash": password_hash,
            "full_name": f"{first} {last}",
            "bio": f"Writes about {rng.choice(TOPIC_WORDS)} and {rng.choice(TOPIC_WORDS)}.",
            "role": "admin" if i == 1 else "author",
            "is_active": True,
            "created_at": SEED_EPOCH - SPAN - timedelta(days=rng.randrange(365)),
            "updated_at": SEED_EPOCH - SPAN,
        }


def make_posts(rng, pool, count, users, categories):
    for i in range(1, count + 1):
        title = " ".join(some_words(rng, rng.randint(3, 9))).capitalize()
        created = when(rng)
        draft = rng.random() < DRAFT_SHARE
        yield {
            "id": i,
            "slug": f"{slugify(title, 'post')}-{i}",
            "title": title,
            "summary": rng.choice(pool),
            "body": paragraphs(rng, pool, rng.randint(2, 8), rng.randint(2, 6)),
            "status": "draft" if draft else "published",
            "author_id": rng.randint(1, users),
            "category_id": rng.randint(1, categories) if rng.random() < 0.8 else None,
            "version": 1,
            "created_at": created,
            "updated_at": created,
            "published_at": None if draft else created + timedelta(minutes=rng.randrange(600)),
        }


def make_post_tags(rng, posts, tags):
    """0 to 5 tags per post; tag n is chosen about 1/n as often as tag 1."""
    weights = [1 / rank for rank in range(1, tags + 1)]
    for post_id in range(1, posts + 1):
        chosen = set(rng.choices(range(1, tags + 1), weights, k=rng.randint(0, 5)))
        for tag_id in sorted(chosen):
            yield {"post_id": post_id, "tag_id": tag_id}


def make_comments(rng, pool, count, users, posts):
    for i in range(1, count + 1):
        created = when(rng)
        yield {
            "id": i,
            "post_id": rng.randint(1, posts),
            "author_id": rng.randint(1, users),
            "body": " ".join(rng.choices(pool, k=rng.randint(1, 4))),
            "version": 1,
            "created_at": created,
            "updated_at": created,
        }


def unique_pairs(rng, count, left, right, *, distinct=False):
    """Up to `count` distinct (a, b) pairs; popular b values are chosen more often."""
    seen = set()
    limit = min(count, left * right - (min(left, right) if distinct else 0))
    while len(seen) < limit:
        a = rng.randint(1, left)
        b = min(int(rng.paretovariate(1.2)), right) if rng.random() < 0.5 else rng.randint(1, right)
        if (a, b) not in seen and not (distinct and a == b):
            seen.add((a, b))
            yield a, b


def make_follows(rng, count, users):
    for follower, followee in unique_pairs(rng, count, users, users, distinct=True):
        yield {"follower_id": follower, "followee_id": followee, "created_at": when(rng)}


def make_favorites(rng, count, users, posts):
    for user_id, post_id in unique_pairs(rng, count, users, posts):
        yield {"user_id": user_id, "post_id": post_id, "created_at": when(rng)}


def batches(rows, size=BATCH):
    rows = iter(rows)
    while batch := list(islice(rows, size)):
        yield batch


def copy_rows(table, rows):
    """COPY a batch into a PostgreSQL table: several times faster than INSERT."""
    columns = list(rows[0])
    connection = db.session.connection().connection.driver_connection
    with connection.cursor() as cursor:
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[column] for column in columns])


def insert_rows(table, rows, progress=None):
    """Insert rows in batches; `progress(table_name, n)` hears of each batch."""
    postgres = db.session.get_bind().dialect.name == "postgresql"
    total = 0
    for batch in batches(rows):
        if postgres:
            copy_rows(table, batch)
        else:
            db.session.execute(insert(table), batch)
        total += len(batch)
        if progress:
            progress(table.name, len(batch))
    return total


def reset_sequences():
    """Explicit ids leave PostgreSQL's sequences behind; move them past the seeded rows."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for model in (User, Category, Tag, Post, Comment):
        table = model.__tablename__
        db.session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
            )
        )


def analyze():
    """Fresh planner statistics: without them PostgreSQL plans the first queries for
    an empty table (it guessed 500 published posts of 95,000 here)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("ANALYZE"))


def is_empty():
    return db.session.scalar(select(func.count()).select_from(User)) == 0


def seed(*, users, posts, comments, follows, favorites, seed=1, progress=None):
    """Fill an empty database; returns {table: rows inserted}. The caller commits.

    `users` must be at least 1 (every post needs an author).
    """
    rng = random.Random(seed)
    pool = sentence_pool(rng)
    categories = len(CATEGORIES)
    plan = [
        (User, make_users(rng, users, hash_password(SEED_PASSWORD))),
        (Category, category_rows()),
        (Tag, ({"id": i, "name": name} for i, name in enumerate(TAG_NAMES, 1))),
        (Post, make_posts(rng, pool, posts, users, categories)),
        (post_tags, make_post_tags(rng, posts, len(TAG_NAMES))),
        (Comment, make_comments(rng, pool, comments if posts else 0, users, posts)),
        (Follow, make_follows(rng, follows, users)),
        (Favorite, make_favorites(rng, favorites, users, posts)),
    ]
    if db.session.get_bind().dialect.name == "postgresql":
        # A bulk load is not a request: the per-statement bound does not apply.
        db.session.execute(text("SET LOCAL statement_timeout = 0"))
    counts = {}
    for model, rows in plan:
        table = getattr(model, "__table__", model)
        counts[table.name] = insert_rows(table, rows, progress)
    analyze()
    reset_sequences()
    return counts


def category_rows():
    for i, name in enumerate(CATEGORIES, 1):
        yield {
            "id": i,
            "name": name,
            "slug": slugify(name, "category"),
            "description": f"Posts about {name.lower()}.",
            "version": 1,
            "created_at": SEED_EPOCH - SPAN,
            "updated_at": SEED_EPOCH - SPAN,
        }
