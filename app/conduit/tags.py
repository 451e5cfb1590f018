"""Conduit tags: the names of the most used tags."""

from app.conduit import blp
from app.conduit.schemas import ConduitTagListResponseSchema
from app.core.conditional import conditional_list
from app.models import Tag
from app.services import tags
from app.services.listing import window

# Conduit's list has no paging; it feeds a "popular tags" box, so it is bounded.
MAX_TAGS = 100


@blp.route("/tags")
@conditional_list
@blp.response(200, ConduitTagListResponseSchema)
def list_tags():
    """Tags of published articles, most used first (at most 100)."""
    query, columns = tags.tags_with_counts()
    return {"tags": window(query, columns["posts_count"].desc(), Tag.name, limit=MAX_TAGS)}
