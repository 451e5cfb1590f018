"""Maintained counts of published posts: what readers ask of them, and a repair.

`GET /tags` lists each tag's number of published posts, and page mode reports
the unfiltered list's size as `meta.total`; counting either per request was the
whole cost of the request on 100,000 posts. So each tag stores its count in
`tags.published_posts_count`, and the `counters` row 'published_posts' holds the
number of published posts. The database keeps both exact: triggers on posts and
post_tags (app/models/counting.py) adjust them in the writer's own transaction,
whoever the writer is (the services, Conduit, the seeder, raw SQL), with
`SET n = n + delta` so concurrent writers never lose one. No writer calls
anything here.

This module is the reading side (the counter's state for page anchors and the
list's total) and `recount()`, which sets every count from the tables: a repair
for counts changed by hand, never a step after a write. A missing counter row
means "unknown": readers then count.
"""

from sqlalchemy import bindparam, func, insert, literal, literal_column, select, update

from app.core.database import reading_connection
from app.extensions import db
from app.models import Counter, Post, Tag, post_tags
from app.models.post import LIST_VERSION, PUBLISHED_POSTS
from app.services.page_anchors import Maintained, MaintainedCount

# Sorts of the published list whose keys never change: published_at is stamped
# once, created_at at creation; so only joining or leaving reorders the list.
STABLE_POST_SORTS = frozenset({"published_at", "created_at"})


def published_list_state():
    """What the counter knows of the published list (page_anchors.Maintained), or None.

    On PostgreSQL the revision is the counter row's `xmin`: every change to the
    published set updates that row in the writer's transaction (the triggers of
    models/counting.py; retagging only locks it), and every update
    gives the row a new xmin, so the revision changes exactly when the list may
    have (and when a recount corrects it).
    """
    connection = reading_connection()
    postgres = connection.dialect.name == "postgresql"
    row = connection.execute(PUBLISHED_LIST_STATE if postgres else PUBLISHED_LIST_SIZE).first()
    if row is None:
        return None
    revision = row[1] if postgres else None
    return Maintained(row[0], revision)


PUBLISHED_LIST_SIZE = select(Counter.value, literal(None)).where(Counter.name == PUBLISHED_POSTS)
PUBLISHED_LIST_STATE = select(Counter.value, literal_column("counters.xmin::text")).where(
    Counter.name == PUBLISHED_POSTS
)

# The unfiltered list of published posts, for page mode and Conduit's articlesCount.
PUBLISHED_LIST = MaintainedCount(
    read=published_list_state,
    total=select(Counter.value).where(Counter.name == PUBLISHED_POSTS).scalar_subquery(),
    stable_sorts=STABLE_POST_SORTS,
)


LIST_VERSION_READ = select(Counter.value).where(Counter.name == LIST_VERSION)


def list_version():
    """The list version (app/models/list_changes.py): it grows with every committed
    write to a listed table. None when its row is missing (then nothing is 304)."""
    return reading_connection().execute(LIST_VERSION_READ).scalar()


def tag_counts_from_tables():
    """Each tag's published posts counted from the tables (the slow, exact way), as
    {tag_id: count} for the tags that have any: one grouped pass over the links."""
    counted = (
        select(post_tags.c.tag_id, func.count())
        .join(Post, Post.id == post_tags.c.post_id)
        .where(Post.status == "published")
        .group_by(post_tags.c.tag_id)
    )
    return dict(db.session.execute(counted).all())


def published_posts_from_tables():
    return select(func.count()).select_from(Post).where(Post.status == "published")


def recount():
    """Set every maintained count from the tables: a repair for counts changed by hand
    (the triggers keep them through every write to posts and post_tags). Returns how
    many counts were wrong: the counter (missing or off) and each tag's.

    The counter row is locked first, then the tags changed: the triggers' lock order,
    so a recount beside writers queues with them instead of deadlocking. Each count
    is exact as of its own statement: run it when nothing writes to be sure.
    """
    counter = Counter.__table__
    published = counter.c.name == PUBLISHED_POSTS
    stored_total = db.session.scalar(select(counter.c.value).where(published).with_for_update())
    total = db.session.scalar(published_posts_from_tables())
    if stored_total is None:
        db.session.execute(insert(counter).values(name=PUBLISHED_POSTS, value=total))
    elif stored_total != total:
        db.session.execute(update(counter).where(published).values(value=total))
    tags = Tag.__table__
    counted = tag_counts_from_tables()
    stored = db.session.execute(select(tags.c.id, tags.c.published_posts_count)).all()
    wrong = [
        {"tag_id": tag_id, "n": counted.get(tag_id, 0)}
        for tag_id, n in stored
        if n != counted.get(tag_id, 0)
    ]
    if wrong:
        db.session.execute(
            update(tags)
            .where(tags.c.id == bindparam("tag_id"))
            .values(published_posts_count=bindparam("n")),
            wrong,
        )
    return len(wrong) + (stored_total != total)
