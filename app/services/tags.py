"""Tags: normalised names, created on first use."""

from sqlalchemy import select

from app.core.database import insert_ignoring_duplicates
from app.extensions import db
from app.models import Tag


def tags_named(names):
    """The Tag rows for `names`, creating missing ones (race-safe)."""
    if not names:
        return []
    # In name order: two writers creating the same new tags in different orders
    # would each wait for the other's uncommitted insert (a deadlock on PostgreSQL).
    for name in sorted(set(names)):
        insert_ignoring_duplicates(db.session, Tag, name=name)
    found = {tag.name: tag for tag in db.session.scalars(select(Tag).where(Tag.name.in_(names)))}
    return [found[name] for name in names]


def tags_with_counts():
    """Tags used by published posts with their counts; returns (query, sort columns).

    The counts are maintained on the tags themselves (services/counters.py), so
    listing them reads one small table instead of counting every tag link. Plain
    rows, not Tag objects: a list that writes nothing reads on the read-only
    connection (services/listing.py `fetch`), one round trip with no BEGIN or
    ROLLBACK and no ORM loading (GET /api/v1/tags: 6.0 million instructions a
    request with Tag objects, bench/instructions.py).
    """
    count = Tag.published_posts_count
    query = select(Tag.id, Tag.name, count).where(count > 0)
    return query, {"posts_count": count, "name": Tag.name}
