"""Every model, imported here so Alembic and `db.metadata` see the whole schema."""

from app.models.base import Model, UTCDateTime
from app.models.token import RevokedToken, TokenFamily
from app.models.user import ROLES, User

__all__ = ["ROLES", "Model", "RevokedToken", "TokenFamily", "UTCDateTime", "User"]
