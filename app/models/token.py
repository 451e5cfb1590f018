"""Server-side token state: refresh-token families and revoked or spent token ids.

Tokens are JWTs, so the server keeps only what it must to stop one early.
A family is one sign-in: every token issued by login and its refreshes shares
the family id (the `fam` claim), so revoking the family stops all of them at
once. A row in `revoked_tokens` is an access token that was logged out or a
refresh token that was spent by rotation; `spent_at` says when a refresh
token was spent, so a retry within a few seconds is told apart from reuse.
Rows are kept until the token would have expired anyway; `flask purge-expired`
deletes them after that.
"""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.models.base import Model, UTCDateTime


class TokenFamily(Model):
    __tablename__ = "token_families"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RevokedToken(Model):
    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(36), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Set for a refresh token spent by rotation; NULL for a logged-out access token.
    spent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
