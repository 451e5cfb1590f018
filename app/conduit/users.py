"""Conduit users: register, login, and the signed-in user's own account.

`user.token` is an ordinary Folio access token from `tokens.issue_pair` (its
refresh token is not handed out: Conduit has no refresh), so it is revoked
and checked exactly like a token from /auth/login. Having no refresh, it
lives CONDUIT_TOKEN_SECONDS (a week) rather than Folio's 15 minutes, or
RealWorld frontends would send their users to the login page every quarter
of an hour.
"""

from datetime import timedelta

from flask import current_app, request
from flask_jwt_extended import current_user, get_jwt
from marshmallow import ValidationError
from werkzeug.exceptions import Unauthorized

from app.conduit import blp
from app.conduit.auth import presented_token
from app.conduit.schemas import (
    ConduitLoginRequestSchema,
    ConduitNewUserRequestSchema,
    ConduitUserResponseSchema,
    ConduitUserUpdateRequestSchema,
)
from app.core.auth import sign_in_again
from app.core.caching import no_store
from app.core.openapi import problems
from app.core.permissions import auth_required
from app.core.throttle import login_throttle, password_work, registration_throttle
from app.extensions import db
from app.schemas.user import check_password_differs
from app.services import accounts, tokens

WRONG_CREDENTIALS = "email or password is invalid"


def login_in_body(body):
    user = body.get("user")
    return user.get("email") if isinstance(user, dict) else None


def password_in_body():
    """PUT /api/user hashes only when it sets a password ("" means none)."""
    body = request.get_json(silent=True)
    user = body.get("user") if isinstance(body, dict) else None
    return isinstance(user, dict) and bool(user.get("password"))


throttled = login_throttle(login_in_body, accounts.find_by_login)


def signed_in(user, token):
    """The `{"user": ...}` body: the account and the token the client sends from now on."""
    return {"user": {"account": user, "token": token}}


def conduit_token(user):
    """A new sign-in's access token, with Conduit's lifetime."""
    lifetime = timedelta(seconds=current_app.config["CONDUIT_TOKEN_SECONDS"])
    return tokens.issue_pair(user, access_lifetime=lifetime)["access_token"]


def already_taken(conflict):
    """Conduit reports a taken username or email as a 422 on that field."""
    return ValidationError({field: ["has already been taken"] for field in conflict.fields})


@blp.route("/users", methods=["POST"])
@registration_throttle
@no_store
@blp.arguments(ConduitNewUserRequestSchema)
@blp.response(201, ConduitUserResponseSchema)
@problems(503)
def register(data):
    """Register a user and sign them in."""
    try:
        user = accounts.register(**data["user"])
    except accounts.AccountConflict as conflict:
        raise already_taken(conflict) from None
    token = conduit_token(user)
    db.session.commit()
    return signed_in(user, token)


@blp.route("/users/login", methods=["POST"])
@throttled
@no_store
@blp.arguments(ConduitLoginRequestSchema)
@blp.response(200, ConduitUserResponseSchema)
@problems(401, 429, 503)
def login(data):
    """Sign in with email (or username) and password."""
    credentials = data["user"]
    user = accounts.authenticate(credentials["login"], credentials["password"])
    if user is None:
        raise Unauthorized(WRONG_CREDENTIALS)
    token = conduit_token(user)
    db.session.commit()
    return signed_in(user, token)


@blp.route("/user")
@auth_required()
@no_store
@blp.response(200, ConduitUserResponseSchema)
def current():
    """The signed-in user, with the token they sent."""
    return signed_in(current_user, presented_token())


@blp.route("/user", methods=["PUT"])
@auth_required()
@password_work(when=password_in_body)
@no_store
@blp.arguments(ConduitUserUpdateRequestSchema)
@blp.response(200, ConduitUserResponseSchema)
@problems(503)
def update_current(data):
    """Change email, username, password, bio or image.

    A new password or email needs a fresh token: one from login or
    registration within `JWT_FRESH_SECONDS` (Conduit has no current-password
    field). Otherwise 401: sign in again. A new password signs out every other
    session; this token keeps working.
    """
    changes = dict(data["user"])
    password = changes.pop("password", None)
    require_fresh_token_for(password, changes)
    try:
        user = accounts.update_profile(current_user, changes)
    except accounts.AccountConflict as conflict:
        raise already_taken(conflict) from None
    if password is not None:
        check_password_differs(password, user.username, user.email, "password")
        family = get_jwt()[tokens.FAMILY_CLAIM]
        accounts.set_password(user, password, keep_family_id=family)
    db.session.commit()
    return signed_in(user, presented_token())


def require_fresh_token_for(password, changes):
    """The email and the password are the account: a stale token alone may not change them."""
    sensitive = [
        name
        for name, changing in (
            ("password", password is not None),
            ("email", accounts.changes_email(current_user, changes)),
        )
        if changing
    ]
    if not sensitive:
        return
    try:
        accounts.check_recent_sign_in(current_user, get_jwt())
    except accounts.RecentSignInRequired:
        raise sign_in_again(f"sign in again to change your {' and '.join(sensitive)}") from None
