"""Account mail: the transactional outbox and the one-time tokens its links carry.

An `OutboxMessage` is written in the same transaction as the change that
causes it, so a rollback sends nothing and a commit always sends, eventually
(app/services/outbox.py delivers it). Its `message_id` is made once, so every
retry of one message carries the same Message-ID header.

An `AccountToken` is the server's half of a link in a mail: only the sha256 of
the random token is kept, so a copy of the table resets no password.
"""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.models.base import Model, UTCDateTime

TOKEN_PURPOSES = ("password-reset", "email-verify")


class OutboxMessage(Model):
    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    to: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    # The sweep's question: what is pending and due, oldest first.
    __table_args__ = (
        Index(
            "ix_outbox_messages_pending",
            "next_attempt_at",
            postgresql_where=sent_at.is_(None),
            sqlite_where=sent_at.is_(None),
        ),
    )


class AccountToken(Model):
    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The address a verification token proves; a later email change voids it.
    email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint(f"purpose IN {TOKEN_PURPOSES!r}", name="purpose"),)
