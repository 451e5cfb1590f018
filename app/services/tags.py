"""Tags: normalised names, created on first use."""

from sqlalchemy import func, select
from sqlalchemy.orm import with_expression

from app.core.database import insert_ignoring_duplicates
from app.extensions import db
from app.models import Post, Tag, post_tags


def tags_named(names):
    """The Tag rows for `names`, creating missing ones (race-safe)."""
    if not names:
        return []
    for name in names:
        insert_ignoring_duplicates(db.session, Tag, name=name)
    found = {tag.name: tag for tag in db.session.scalars(select(Tag).where(Tag.name.in_(names)))}
    return [found[name] for name in names]


def tags_with_counts():
    """Tags used by published posts with their counts; returns (query, sort columns).

    The counts are a grouped subquery joined to tags, so the list can sort and
    keyset-paginate on them like on any column.
    """
    counts = (
        select(post_tags.c.tag_id, func.count().label("posts_count"))
        .join(Post, Post.id == post_tags.c.post_id)
        .where(Post.status == "published")
        .group_by(post_tags.c.tag_id)
        .subquery()
    )
    query = (
        select(Tag)
        .join(counts, counts.c.tag_id == Tag.id)
        .options(with_expression(Tag.posts_count, counts.c.posts_count))
    )
    return query, {"posts_count": counts.c.posts_count, "name": Tag.name}
