"""Tags, most used first."""

from app.api import blp
from app.core.conditional import conditional_list
from app.core.paging import paginate
from app.models import Tag
from app.schemas.pagination import PaginationArgs, page_of, sort_field
from app.schemas.post import TagSchema
from app.services import tags
from app.services.listing import Listing

TAG_SORT_NAMES = ("posts_count", "name")


class TagListArgs(PaginationArgs):
    sort = sort_field(TAG_SORT_NAMES, "-posts_count")


@blp.route("/tags")
@blp.arguments(TagListArgs, location="query", as_kwargs=False)
@conditional_list
@blp.response(200, page_of(TagSchema))
def list_tags(args):
    """Tags of published posts with their counts, most used first."""
    query, sorts = tags.tags_with_counts()
    return paginate(Listing(query, Tag.id, sorts), args)
