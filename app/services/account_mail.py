"""Password-reset and email-verification mail, and the one-time tokens in their links.

A token is secrets.token_urlsafe(32) in the link and its sha256 in the
database: single-use (spending is one conditional UPDATE, so of two requests
with one token exactly one wins), expiring, and for one purpose. The mail goes
through the outbox, in the caller's transaction.
"""

import hashlib
import secrets
from datetime import timedelta
from urllib.parse import urlencode

from flask import current_app, has_request_context, url_for
from sqlalchemy import delete, select, update

from app.core.clock import utcnow
from app.extensions import db
from app.models import AccountToken, OutboxMessage, User
from app.services import outbox

RESET = "password-reset"
VERIFY = "email-verify"


class InvalidToken(Exception):
    """Unknown, spent, expired, or for an address the account no longer has."""


def digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user, purpose, lifetime_seconds):
    token = secrets.token_urlsafe(32)
    db.session.add(
        AccountToken(
            token_hash=digest(token),
            purpose=purpose,
            user_id=user.id,
            email=user.email,
            expires_at=utcnow() + timedelta(seconds=lifetime_seconds),
        )
    )
    return token


def link(setting, endpoint, token):
    """The configured URL (or Folio's own page) with ?token=... appended."""
    base = current_app.config[setting] or own_page(endpoint)
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}{urlencode({'token': token})}"


def own_page(endpoint):
    """Folio's own page: absolute in a request; outside one (`flask create-admin`)
    there is no host to name, so the path only (set the *_URL settings)."""
    if has_request_context():
        return url_for(endpoint, _external=True)
    return current_app.url_map.bind("localhost").build(endpoint)


def send_password_reset(user):
    token = issue_token(user, RESET, current_app.config["PASSWORD_RESET_TOKEN_SECONDS"])
    add_reset_message(user, token)


def add_reset_message(user, token):
    """The reset mail for `user` carrying `token`, added to the outbox."""
    config = current_app.config
    outbox.add_message(
        user.email,
        "Reset your Folio password",
        "password_reset",
        user=user,
        link=link("PASSWORD_RESET_URL", "account_pages.reset_page", token),
        minutes=config["PASSWORD_RESET_TOKEN_SECONDS"] // 60,
    )


def rehearse_password_reset(email):
    """For an address no active account has: the same work as `send_password_reset`
    (a token, the templates, the row written) in a savepoint that is rolled back,
    so the answer takes about as long and nothing is sent. The transaction
    still wrote, so its commit waits for the log flush as a real one does."""
    stand_in = User(id=0, username="", email=email, full_name=None)
    with db.session.begin_nested() as savepoint:
        token = secrets.token_urlsafe(32)
        digest(token)
        add_reset_message(stand_in, token)
        db.session.flush()
        savepoint.rollback()


def send_verification(user):
    config = current_app.config
    token = issue_token(user, VERIFY, config["EMAIL_VERIFY_TOKEN_SECONDS"])
    outbox.add_message(
        user.email,
        "Confirm your email for Folio",
        "verify_email",
        user=user,
        link=link("EMAIL_VERIFY_URL", "account_pages.verify_page", token),
        hours=config["EMAIL_VERIFY_TOKEN_SECONDS"] // 3600,
    )


def spend_token(token, purpose):
    """The user a valid token names, the token now spent; else InvalidToken.

    A verification token also needs the account to still have the address it
    was sent to; a reset token, that the account is active.
    """
    now = utcnow()
    spent = db.session.execute(
        update(AccountToken)
        .where(
            AccountToken.token_hash == digest(token),
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(AccountToken.user_id, AccountToken.email)
    ).one_or_none()
    if spent is None:
        raise InvalidToken
    user = db.session.scalar(select(User).where(User.id == spent.user_id))
    if user is None or not user.is_active:
        raise InvalidToken
    if purpose == VERIFY and user.email.lower() != spent.email.lower():
        raise InvalidToken
    return user


# Sent mail is kept a while for questions ("did the reset mail go?"), then goes.
KEEP_SENT_MAIL = timedelta(days=7)


def purge_expired(now=None):
    """Delete link tokens past their expiry (used or not, nothing needs them) and
    mail sent more than KEEP_SENT_MAIL ago; returns (tokens, mails) removed."""
    now = now or utcnow()
    tokens = db.session.execute(delete(AccountToken).where(AccountToken.expires_at <= now))
    mails = db.session.execute(
        delete(OutboxMessage).where(OutboxMessage.sent_at <= now - KEEP_SENT_MAIL)
    )
    return tokens.rowcount, mails.rowcount
