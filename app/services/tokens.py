"""Issuing, rotating and revoking tokens.

Every sign-in starts a family; each refresh spends the presented refresh token
(recorded in `revoked_tokens` with the time it was spent) and issues a new
pair in the same family. A spent refresh token presented again means it was
copied: the whole family is revoked, access tokens included, and the caller
must sign in again. Spending is an INSERT on the token's primary key, so of
concurrent refreshes of one token exactly one spends it.

Except within JWT_REFRESH_REUSE_GRACE_SECONDS of the spending: a mobile app
that lost the answer retries, or sends two refreshes at once, and must not be
signed out for it. Such a re-presentation gets a new pair in the same family
rather than a copy of the first answer, which would mean storing issued
tokens; the cost is a second live branch of the family, revoked with it.
The window is what a thief holding a copy can use too, so it is seconds.
"""

import uuid
from datetime import UTC, datetime, timedelta

from flask import current_app, g
from flask_jwt_extended import create_access_token, create_refresh_token
from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError

from app.core.clock import utcnow
from app.extensions import db, jwt
from app.models import RevokedToken, TokenFamily, User

FAMILY_CLAIM = "fam"


class RefreshTokenReused(Exception):
    """A spent refresh token was presented again; its family is now revoked."""


def issue_pair(user, family_id=None, *, access_lifetime=None):
    """A new access and refresh token for `user`, in `family_id` or a new family.

    A new family is a sign-in with credentials, so its access token is fresh
    (proof of a recent sign-in) for JWT_FRESH_SECONDS; a refresh continues a
    family and its access token is never fresh. `access_lifetime` overrides
    JWT_ACCESS_TOKEN_EXPIRES (Conduit's tokens, which have no refresh).
    """
    config = current_app.config
    access_lifetime = access_lifetime or config["JWT_ACCESS_TOKEN_EXPIRES"]
    signing_in = family_id is None
    if signing_in:
        family = TokenFamily(id=uuid.uuid4().hex, user_id=user.id)
        db.session.add(family)
    else:
        family = db.session.get(TokenFamily, family_id)
    # The family outlives every token in it: purging it early would refuse them.
    family.expires_at = utcnow() + max(config["JWT_REFRESH_TOKEN_EXPIRES"], access_lifetime)
    claims = {FAMILY_CLAIM: family.id}
    identity = str(user.id)
    fresh = timedelta(seconds=config["JWT_FRESH_SECONDS"]) if signing_in else False
    access = create_access_token(
        identity, fresh=fresh, expires_delta=access_lifetime, additional_claims=claims
    )
    return {
        "access_token": access,
        "refresh_token": create_refresh_token(identity, additional_claims=claims),
        "token_type": "Bearer",
        "expires_in": int(access_lifetime.total_seconds()),
    }


def is_fresh(claims):
    """Whether an access token proves a recent sign-in.

    flask-jwt-extended stores `fresh` as a boolean or as the timestamp until
    which the token is fresh; it is compared with this module's clock so tests
    can move time instead of sleeping.
    """
    fresh = claims.get("fresh", False)
    if isinstance(fresh, bool):
        return fresh
    return utcnow().timestamp() < fresh


def expiry_of(claims):
    return datetime.fromtimestamp(claims["exp"], UTC)


def spend_refresh_token(claims):
    """Mark a refresh token spent; if it already was, allow a retry within the
    grace window, else revoke its family.

    Commits a revocation: a detected reuse must stay revoked even though the
    request that found it fails.
    """
    try:
        spent = RevokedToken(jti=claims["jti"], expires_at=expiry_of(claims), spent_at=utcnow())
        db.session.add(spent)
        db.session.flush()
    except IntegrityError:
        db.session.rollback()  # the request has only read so far: nothing else is lost
        if spent_moments_ago(claims["jti"]):
            return
        revoke_family(claims[FAMILY_CLAIM])
        db.session.commit()
        raise RefreshTokenReused from None


def spent_moments_ago(jti):
    """Whether this refresh token was spent within the grace window (a client's retry)."""
    grace = timedelta(seconds=current_app.config["JWT_REFRESH_REUSE_GRACE_SECONDS"])
    spent_at = db.session.scalar(select(RevokedToken.spent_at).where(RevokedToken.jti == jti))
    return spent_at is not None and utcnow() - spent_at <= grace


def revoke_access_token(claims):
    db.session.merge(RevokedToken(jti=claims["jti"], expires_at=expiry_of(claims)))


def revoke_family(family_id):
    db.session.execute(
        update(TokenFamily)
        .where(TokenFamily.id == family_id, TokenFamily.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def revoke_user_families(user_id, keep_family_id=None):
    """Revoke every sign-in of a user, except `keep_family_id` when given."""
    statement = update(TokenFamily).where(
        TokenFamily.user_id == user_id, TokenFamily.revoked_at.is_(None)
    )
    if keep_family_id is not None:
        statement = statement.where(TokenFamily.id != keep_family_id)
    db.session.execute(statement.values(revoked_at=utcnow()))


def revocation(claims):
    """True when the family is revoked (or unknown), or this access token was logged out.

    Refresh tokens are not checked against `revoked_tokens` here: a spent one must
    reach `spend_refresh_token` so that its reuse revokes the family.
    """
    family_alive = exists().where(
        TokenFamily.id == claims.get(FAMILY_CLAIM), TokenFamily.revoked_at.is_(None)
    )
    condition = ~family_alive
    if claims.get("type") == "access":
        condition = condition | exists().where(RevokedToken.jti == claims["jti"])
    return condition


def user_and_revocation(claims):
    """(the token's user, whether the token is revoked) in one query; (None, False)
    when the user is gone, which the user check then refuses."""
    query = select(User, revocation(claims).label("revoked")).where(User.id == int(claims["sub"]))
    row = db.session.execute(query).one_or_none()
    return (row.User, row.revoked) if row is not None else (None, False)


# --- the token on each request ------------------------------------------------------
# Registered when this module is imported (the app factory imports it): on each
# request with a token, one query loads the user and checks the token's family
# and jti against the revocation tables; the user must still be active, so
# logout, password changes, deactivation and role changes take effect on the
# next request rather than when the token expires. The 401 answers for tokens
# that fail are app/core/auth.py's.


@jwt.token_in_blocklist_loader
def token_revoked(_header, claims):
    # flask-jwt-extended asks this first, then load_user: one query answers both.
    g.token_user, revoked = user_and_revocation(claims)
    return revoked


@jwt.user_lookup_loader
def load_user(_header, claims):
    user = g.pop("token_user", None)
    if user is None or not user.is_active:
        return None
    g.user_id = user.id
    return user


def purge_expired(now=None):
    """Delete rows for tokens that have expired anyway; returns how many went."""
    now = now or utcnow()
    spent = db.session.query(RevokedToken).filter(RevokedToken.expires_at < now).delete()
    families = db.session.query(TokenFamily).filter(TokenFamily.expires_at < now).delete()
    return spent + families
