"""Random concurrent writers on PostgreSQL: afterwards every maintained count is exact.

Six threads, each with its own test client (every request its own app context,
session and connection), run a random mix of creates (drafts and published, on
random tags), publishes, unpublishes, retags, deletes and favourites through
the HTTP API, and writes in raw SQL that no service sees. When they are done,
the counter of published posts and every tag's count must equal `count(*)`
over the tables, and no request may have failed: a deadlock between the
triggers' locks would answer 5xx.

The seed is fixed so a failure can be replayed, and printed (pytest shows it
with a failure); FOLIO_COUNTERS_SEED runs another.
"""

import os
import random
import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Favorite, Post, Tag
from tests.conftest import sign_up
from tests.content_helpers import API, create_post, post_url
from tests.test_counters import assert_exact

pytestmark = pytest.mark.postgres

SEED = int(os.environ.get("FOLIO_COUNTERS_SEED", "20261205"))
THREADS = 6
OPERATIONS = 30  # per thread
TAGS = ("python", "flask", "web", "rust", "sql", "go")
AUTHORS = ("alice", "bob", "carol")

# What each operation may answer: a post another thread deleted meanwhile is a 404.
EXPECTED = {
    "create": {201},
    "publish": {200, 404},
    "unpublish": {200, 404},
    "retag": {200, 404},
    "delete": {204, 404},
    "favorite": {200, 404},
    "unfavorite": {200, 204, 404},
    "raw": {None},
}


class Writers:
    """The shared state of one run: who wrote which post, and what each request answered.

    A post a request changes, deletes or (un)favourites is taken out of the pool
    until the request is done. A request whose post is deleted between its commit
    and its response's read answers 500 today (PATCH, POST and DELETE .../favorite
    read the post again after committing): a read-side race, not the counts', and
    allowing 5xx here would hide a deadlock. Raw SQL picks any post, busy or not,
    so writes to one post still meet.
    """

    def __init__(self, app, headers):
        self.app = app
        self.headers = headers  # author name -> bearer headers
        self.owners = {}  # post id -> author name
        self.busy = set()  # post ids a request is changing or deleting
        self.lock = threading.Lock()
        self.answers = []  # (operation, status, body)

    def some_post(self, rng):
        """(post id, author) of any live post, or (None, None)."""
        with self.lock:
            return rng.choice(sorted(self.owners.items())) if self.owners else (None, None)

    @contextmanager
    def reserved_post(self, rng):
        """(post id, author) of a post no other request is changing, or (None, None)."""
        with self.lock:
            free = sorted(item for item in self.owners.items() if item[0] not in self.busy)
            post, author = rng.choice(free) if free else (None, None)
            self.busy.add(post)
        try:
            yield post, author
        finally:
            with self.lock:
                self.busy.discard(post)

    def note(self, operation, response):
        status = response.status_code if response is not None else None
        body = response.get_json(silent=True) if response is not None else None
        with self.lock:
            self.answers.append((operation, status, body))

    def run(self, index):
        rng = random.Random(f"{SEED}-{index}")
        client = self.app.test_client()
        for _ in range(OPERATIONS):
            operation = rng.choices(list(EXPECTED), weights=(4, 3, 2, 3, 2, 2, 1, 2))[0]
            answer = getattr(self, operation)(client, rng)
            self.note(*answer if isinstance(answer, tuple) else (operation, answer))

    def create(self, client, rng):
        author = rng.choice(AUTHORS)
        body = {
            "title": "Race",
            "body": "B",
            "status": rng.choice(("draft", "published")),
            "tags": rng.sample(TAGS, rng.randint(0, 3)),
        }
        response = client.post(f"{API}/posts", json=body, headers=self.headers[author])
        if response.status_code == 201:
            with self.lock:
                self.owners[response.get_json()["id"]] = author
        return response

    def create_instead(self, client, rng):
        """When no post is free to change: create one, and say so."""
        return "create", self.create(client, rng)

    def change(self, client, rng, changes):
        with self.reserved_post(rng) as (post, author):
            if post is None:
                return self.create_instead(client, rng)
            return client.patch(post_url(post), json=changes, headers=self.headers[author])

    def publish(self, client, rng):
        return self.change(client, rng, {"status": "published"})

    def unpublish(self, client, rng):
        return self.change(client, rng, {"status": "draft"})

    def retag(self, client, rng):
        changes = {"tags": rng.sample(TAGS, rng.randint(0, 3))}
        if rng.random() < 0.3:
            changes["status"] = rng.choice(("draft", "published"))
        return self.change(client, rng, changes)

    def delete(self, client, rng):
        with self.reserved_post(rng) as (post, author):
            if post is None:
                return self.create_instead(client, rng)
            response = client.delete(post_url(post), headers=self.headers[author])
            with self.lock:
                self.owners.pop(post, None)
            return response

    def favorite(self, client, rng):
        with self.reserved_post(rng) as (post, _):
            if post is None:
                return self.create_instead(client, rng)
            user = self.headers[rng.choice(AUTHORS)]
            return client.post(f"{post_url(post)}/favorite", headers=user)

    def unfavorite(self, client, rng):
        with self.reserved_post(rng) as (post, _):
            if post is None:
                return self.create_instead(client, rng)
            user = self.headers[rng.choice(AUTHORS)]
            return client.delete(f"{post_url(post)}/favorite", headers=user)

    def raw(self, client, rng):
        """A writer around the services: flip a post's status, or link or unlink a tag.

        Before a link it takes the post's KEY SHARE lock, as the foreign key's own
        check would, but first: a writer that changes a post's links before locking
        the post can deadlock with the services, which lock the post and then its
        links (PostgreSQL aborts one; counts stay exact). KEY SHARE leaves a
        concurrent status flip free to run, so the triggers' own lock is what
        orders the two."""
        post, _ = self.some_post(rng)
        if post is None:
            return None
        lock_post = "SELECT 1 FROM posts WHERE id = :post FOR KEY SHARE"
        flip = (
            "UPDATE posts SET status = CASE status WHEN 'draft' THEN 'published' "
            "ELSE 'draft' END, published_at = coalesce(published_at, now()) WHERE id = :post"
        )
        link = (
            "INSERT INTO post_tags (post_id, tag_id) SELECT :post, id FROM tags "
            "WHERE name = :tag ON CONFLICT DO NOTHING"
        )
        unlink = (
            "DELETE FROM post_tags WHERE post_id = :post "
            "AND tag_id IN (SELECT id FROM tags WHERE name = :tag)"
        )
        statements = rng.choice(((flip,), (lock_post, link), (lock_post, unlink)))
        params = {"post": post, "tag": rng.choice(TAGS)}
        with self.app.app_context():
            try:
                for statement in statements:
                    db.session.execute(text(statement), params)
                db.session.commit()
            except IntegrityError:  # the post was deleted meanwhile: nothing written
                db.session.rollback()
        return None


def test_random_concurrent_writers_keep_every_count_exact(app, client, make_user, login):
    print(f"FOLIO_COUNTERS_SEED={SEED}")
    headers = {name: sign_up(make_user, login, name) for name in AUTHORS}
    writers = Writers(app, headers)
    for author in AUTHORS:  # every tag exists, and each thread finds posts to change
        for status in ("published", "draft"):
            post = create_post(client, headers[author], status=status, tags=list(TAGS))
            writers.owners[post["id"]] = author

    threads = [threading.Thread(target=writers.run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    unexpected = [
        (operation, status, body)
        for operation, status, body in writers.answers
        if status not in EXPECTED[operation]
    ]
    assert unexpected == [], f"seed {SEED}"
    assert len(writers.answers) == THREADS * OPERATIONS
    with app.app_context():  # the run did move the counts: published posts and links remain
        published = db.session.scalar(
            select(func.count()).select_from(Post).where(Post.status == "published")
        )
        tagged = db.session.scalar(select(func.sum(Tag.published_posts_count)))
        favorites = db.session.scalar(select(func.count()).select_from(Favorite))
    print(f"published {published}, published tag links {tagged}, favourites {favorites}")
    assert_exact(app)
