"""The API blueprint (/api/v1): posts, comments, categories, tags, users, the feed."""

from flask_smorest import Blueprint

blp = Blueprint("api", __name__, description="Content API")

from app.api import users  # noqa: E402,F401  (registers the views on blp)
