"""User accounts.

Email and username are unique case-insensitively, enforced by unique indexes
on lower(...) so no code path (or race) can store "Alice" beside "alice".
"""

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Index, String, Text, false, func, true
from sqlalchemy.orm import Mapped, mapped_column, query_expression

from app.core.clock import utcnow
from app.models.base import Model, UTCDateTime

ROLES = ("admin", "editor", "author")
ROLE_RANK = {"author": 1, "editor": 2, "admin": 3}


class User(Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str | None] = mapped_column(String(100))
    bio: Mapped[str | None] = mapped_column(Text)
    image: Mapped[str | None] = mapped_column(String(500))
    role: Mapped[str] = mapped_column(String(16), default="author", server_default="author")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Set by a verification link; a new email clears it until that one is verified.
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # Filled per query (see services/users.py): exact counts and the viewer's flag.
    followers_count: Mapped[int] = query_expression()
    following_count: Mapped[int] = query_expression()
    following: Mapped[bool] = query_expression()

    __table_args__ = (
        CheckConstraint(f"role IN {ROLES!r}", name="role"),
        Index("uq_users_username_lower", func.lower(username), unique=True),
        Index("uq_users_email_lower", func.lower(email), unique=True),
    )

    def has_role(self, role):
        """True when this user's role is `role` or ranks above it."""
        return ROLE_RANK[self.role] >= ROLE_RANK[role]

    def __repr__(self):
        return f"<User {self.id} {self.username!r}>"
