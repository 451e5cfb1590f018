"""Every model, imported here so Alembic and `db.metadata` see the whole schema."""

from app.models.base import Model, UTCDateTime
from app.models.comment import Comment
from app.models.counting import TRIGGERS as COUNTING_TRIGGERS  # and their DDL
from app.models.idempotency import IdempotencyRecord
from app.models.list_changes import LISTED_TABLES  # and the list version's triggers
from app.models.mail import AccountToken, OutboxMessage
from app.models.post import POST_STATUSES, Category, Counter, Post, Tag, post_tags
from app.models.social import Favorite, Follow
from app.models.token import RevokedToken, TokenFamily
from app.models.user import ROLES, User

__all__ = [
    "COUNTING_TRIGGERS",
    "LISTED_TABLES",
    "POST_STATUSES",
    "ROLES",
    "AccountToken",
    "Category",
    "Comment",
    "Counter",
    "Favorite",
    "Follow",
    "IdempotencyRecord",
    "Model",
    "OutboxMessage",
    "Post",
    "RevokedToken",
    "Tag",
    "TokenFamily",
    "UTCDateTime",
    "User",
    "post_tags",
]
