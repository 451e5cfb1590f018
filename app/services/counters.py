"""Maintained counts of published posts, kept exact in the writer's own transaction.

`GET /tags` lists each tag's number of published posts. Counting them per
request (a grouped count over every tag link of every published post) was the
whole cost of that request on 100,000 posts, so each tag stores its count in
`tags.published_posts_count`, and every write that changes which published
posts carry which tags adjusts it in the same transaction:

- a post's writer records its state before and after (`published_state`) and
  calls `post_changed(before, after)`, which adds one to the tags a published
  post gained and takes one from those it lost;
- the adjustment is one `UPDATE ... SET n = n + delta` per write, evaluated by
  the database on the current row, never read-modify-write in Python, so
  concurrent writers cannot lose each other's changes; rows are locked in id
  order first so two writers touching the same tags queue rather than deadlock;
- bulk loads that bypass the services (the seeder, a migration) call
  `recount()`, which sets every count from the tables.

The same writes keep the number of published posts in `counters`, which page
mode reports as `meta.total` of the unfiltered list instead of a `count(*)` over
every published post. Its row is updated after the tags' (one lock order for
every writer); writers of published posts queue on it until they commit, the
price of an exact total. A missing row means "unknown": readers then count.
"""

from sqlalchemy import bindparam, case, func, insert, literal, literal_column, select, update

from app.core.database import reading_connection
from app.core.page_anchors import Maintained, MaintainedCount
from app.extensions import db
from app.models import Counter, Post, Tag, post_tags
from app.models.post import PUBLISHED_POSTS


def published_state(post):
    """What a post contributes to the counts: its tag ids when published, else None."""
    if post.status != "published":
        return None
    return frozenset(tag.id for tag in post.tags)


def post_changed(before, after):
    """Adjust the counts for a post whose `published_state` went from `before` to `after`."""
    old, new = before or frozenset(), after or frozenset()
    gained, lost = new - old, old - new
    if gained or lost:
        adjust_tags(gained, lost)
    published = (after is not None) - (before is not None)
    if published:
        db.session.execute(
            update(Counter)
            .where(Counter.name == PUBLISHED_POSTS)
            .values(value=Counter.value + published)
            .execution_options(synchronize_session=False)
        )


# Sorts of the published list whose keys never change: published_at is stamped
# once, created_at at creation; so only joining or leaving reorders the list.
STABLE_POST_SORTS = frozenset({"published_at", "created_at"})


def published_list_state():
    """What the counter knows of the published list (page_anchors.Maintained), or None.

    On PostgreSQL the revision is the counter row's `xmin`: every change to the
    published set updates that row in the writer's transaction, and every update
    gives the row a new xmin, so the revision changes exactly when the list may
    have (a recount counts as a change too).
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


def adjust_tags(gained, lost):
    ids = sorted(gained | lost)
    tags = Tag.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        # Lock in id order, so concurrent writers wait for each other in one order.
        # NO KEY UPDATE (what the UPDATE itself takes): a plain FOR UPDATE would
        # conflict with the KEY SHARE locks other writers' post_tags inserts hold.
        locked = select(tags.c.id).where(tags.c.id.in_(ids)).order_by(tags.c.id)
        db.session.execute(locked.with_for_update(key_share=True))
    if gained and lost:
        delta = case((tags.c.id.in_(sorted(gained)), 1), else_=-1)
    else:
        delta = 1 if gained else -1
    db.session.execute(
        update(tags)
        .where(tags.c.id.in_(ids))
        .values(published_posts_count=tags.c.published_posts_count + delta)
    )


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
    """Set every maintained count from the tables (after a bulk load, with no writers)."""
    tags = Tag.__table__
    counts = tag_counts_from_tables()
    db.session.execute(update(tags).values(published_posts_count=0))
    if counts:
        db.session.execute(
            update(tags)
            .where(tags.c.id == bindparam("tag_id"))
            .values(published_posts_count=bindparam("n")),
            [{"tag_id": tag_id, "n": n} for tag_id, n in counts.items()],
        )
    total = db.session.scalar(published_posts_from_tables())
    counter = Counter.__table__
    updated = db.session.execute(
        update(counter).where(counter.c.name == PUBLISHED_POSTS).values(value=total)
    )
    if updated.rowcount == 0:
        db.session.execute(insert(counter).values(name=PUBLISHED_POSTS, value=total))
