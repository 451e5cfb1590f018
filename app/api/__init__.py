"""The API blueprint (/api/v1): posts, comments, categories, tags, users, the feed."""

from app.core.api import Blueprint

blp = Blueprint("api", __name__, description="Content API")

# The modules register their views on blp.
from app.api import categories, comments, posts, tags, users  # noqa: E402,F401
