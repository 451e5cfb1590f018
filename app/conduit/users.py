"""Conduit users: register, login, and the signed-in user's own account.

`user.token` is an ordinary Folio access token from `tokens.issue_pair` (its
refresh token is not handed out: Conduit has no refresh), so it expires,
is revoked and is checked exactly like a token from /auth/login.
"""

from flask import request
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


throttled = login_throttle(login_in_body)


def signed_in(user, token):
    """The `{"user": ...}` body: the account and the token the client sends from now on."""
    return {"user": {"account": user, "token": token}}


def already_taken(conflict):
    """Conduit reports a taken username or email as a 422 on that field."""
    return ValidationError({field: ["has already been taken"] for field in conflict.fields})


@blp.route("/users", methods=["POST"])
@registration_throttle
@blp.arguments(ConduitNewUserRequestSchema)
@blp.response(201, ConduitUserResponseSchema)
@problems(503)
def register(data):
    """Register a user and sign them in."""
    try:
        user = accounts.register(**data["user"])
    except accounts.AccountConflict as conflict:
        raise already_taken(conflict) from None
    token = tokens.issue_pair(user)["access_token"]
    db.session.commit()
    return signed_in(user, token)


@blp.route("/users/login", methods=["POST"])
@throttled
@blp.arguments(ConduitLoginRequestSchema)
@blp.response(200, ConduitUserResponseSchema)
@problems(401, 429, 503)
def login(data):
    """Sign in with email (or username) and password."""
    credentials = data["user"]
    user = accounts.authenticate(credentials["login"], credentials["password"])
    if user is None:
        raise Unauthorized(WRONG_CREDENTIALS)
    token = tokens.issue_pair(user)["access_token"]
    db.session.commit()
    return signed_in(user, token)


@blp.route("/user")
@auth_required()
@blp.response(200, ConduitUserResponseSchema)
def current():
    """The signed-in user, with the token they sent."""
    return signed_in(current_user, presented_token())


@blp.route("/user", methods=["PUT"])
@auth_required()
@password_work(when=password_in_body)
@blp.arguments(ConduitUserUpdateRequestSchema)
@blp.response(200, ConduitUserResponseSchema)
@problems(503)
def update_current(data):
    """Change email, username, password, bio or image.

    A new password signs out every other session; this token keeps working.
    """
    changes = dict(data["user"])
    password = changes.pop("password", None)
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
