"""Auth endpoints. Each view: parse, call one service, commit once, shape the answer."""

from flask import url_for
from flask_jwt_extended import current_user, get_jwt, jwt_required
from werkzeug.exceptions import BadRequest, Conflict, Forbidden, Unauthorized

from app.auth import blp
from app.core.auth import sign_in_again
from app.core.caching import no_store
from app.core.conditional import cacheable
from app.core.errors import problem
from app.core.openapi import bearer_auth, problems
from app.core.permissions import auth_required
from app.core.throttle import (
    forgot_password_throttle,
    login_throttle,
    password_change_throttle,
    password_work,
    profile_change_throttle,
    registration_throttle,
    verification_resend_throttle,
)
from app.extensions import db
from app.schemas.user import (
    AcceptedSchema,
    EmailVerifySchema,
    LoginSchema,
    OwnProfileUpdateSchema,
    OwnUserSchema,
    PasswordChangeSchema,
    PasswordForgotSchema,
    PasswordResetSchema,
    RegisterSchema,
    TokenPairSchema,
    check_password_differs,
)
from app.services import account_mail, accounts, tokens, users

WRONG_CREDENTIALS = "The login or password is wrong, or the account is inactive."
WRONG_CURRENT_PASSWORD = "The current password is wrong."
STALE_FOR_EMAIL = "Sign in again, or send current_password, to change your email."
RESET_ON_ITS_WAY = "If an account has this email, a mail with a reset link is on its way."
INVALID_LINK = "This link is unknown, used already, or expired; ask for a new one."
ALREADY_VERIFIED = "Your email is verified already."
throttled = login_throttle(lambda body: body.get("login"), accounts.find_by_login)


def conflict(error):
    return Conflict(f"Already taken: {error}.")


@blp.route("/register", methods=["POST"])
@registration_throttle
@no_store
@blp.arguments(RegisterSchema)
@blp.response(201, OwnUserSchema, headers={"Location": "Location"})
@problems(409, 503)
def register(data):
    """Create an account (role `author`)."""
    try:
        user = accounts.register(**data)
    except accounts.AccountConflict as error:
        raise conflict(error) from None
    db.session.commit()
    return users.reload(user, user), 201, {"Location": url_for("auth.me")}


@blp.route("/login", methods=["POST"])
@throttled
@no_store
@blp.arguments(LoginSchema)
@blp.response(200, TokenPairSchema)
@problems(401, 429, 503)
def login(data):
    """Sign in with email or username; returns an access and a refresh token."""
    user = accounts.authenticate(data["login"], data["password"])
    if user is None:
        raise Unauthorized(WRONG_CREDENTIALS)
    pair = tokens.issue_pair(user)
    db.session.commit()
    return pair


@blp.route("/refresh", methods=["POST"])
@jwt_required(refresh=True)
@bearer_auth
@no_store
@blp.response(200, TokenPairSchema)
def refresh():
    """Trade a refresh token (as the bearer token) for a new pair; the old one is spent.

    Presenting a refresh token that was already spent revokes its whole sign-in.
    """
    claims = get_jwt()
    try:
        tokens.spend_refresh_token(claims)
    except tokens.RefreshTokenReused:
        return problem(
            401,
            "This refresh token was already used; the session is revoked. Sign in again.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    pair = tokens.issue_pair(current_user, family_id=claims[tokens.FAMILY_CLAIM])
    db.session.commit()
    return pair


@blp.route("/logout", methods=["POST"])
@auth_required()
@blp.response(204)
def logout():
    """Sign out: this access token and its refresh tokens stop working at once."""
    claims = get_jwt()
    tokens.revoke_access_token(claims)
    tokens.revoke_family(claims[tokens.FAMILY_CLAIM])
    db.session.commit()


@blp.route("/me", methods=["GET"])
@auth_required()
@no_store
@cacheable
@blp.response(200, OwnUserSchema)
def me():
    """The signed-in user's own view.

    Its ETag is a digest of the exact bytes sent (users have no version
    counter), so it changes whenever any shown field or count changes.
    """
    return users.reload(current_user, current_user)


@blp.route("/me", methods=["PATCH"])
@auth_required()
@profile_change_throttle
@no_store
@blp.arguments(OwnProfileUpdateSchema)
@blp.response(200, OwnUserSchema)
@problems(403, 409, 429, 503)
def update_me(changes):
    """Change full name, bio, image or email.

    A new email needs proof of a recent sign-in: an access token from login
    within `JWT_FRESH_SECONDS`, or `current_password` (403 when wrong). A token
    from a refresh, or an older one, without it: 401 with
    `WWW-Authenticate: Bearer error="insufficient_user_authentication"`.
    """
    try:
        accounts.update_own_profile(current_user, changes, token_claims=get_jwt())
    except accounts.RecentSignInRequired:
        raise sign_in_again(STALE_FOR_EMAIL) from None
    except accounts.WrongPassword:
        raise Forbidden(WRONG_CURRENT_PASSWORD) from None
    except accounts.AccountConflict as error:
        raise conflict(error) from None
    db.session.commit()
    return users.reload(current_user, current_user)


@blp.route("/password", methods=["POST"])
@auth_required()
@password_change_throttle
@blp.arguments(PasswordChangeSchema)
@blp.response(204)
@problems(403, 429, 503)
def change_password(data):
    """Change the password; every other session is signed out, this one keeps working."""
    user = current_user
    check_password_differs(data["new_password"], user.username, user.email, "new_password")
    try:
        accounts.change_password(
            user,
            current_password=data["current_password"],
            new_password=data["new_password"],
            keep_family_id=get_jwt()[tokens.FAMILY_CLAIM],
        )
    except accounts.WrongPassword:
        raise Forbidden(WRONG_CURRENT_PASSWORD) from None
    db.session.commit()


@blp.route("/password/forgot", methods=["POST"])
@forgot_password_throttle
@no_store
@blp.arguments(PasswordForgotSchema)
@blp.response(202, AcceptedSchema)
@problems(429, 503)
def forgot_password(data):
    """Ask for a password-reset mail.

    The answer is the same whether or not an account has this email, and so
    are the limits: RATELIMIT_MAIL_PER_EMAIL for the address, and
    RATELIMIT_MAIL_PER_ADDRESS for the client.
    """
    accounts.request_password_reset(data["email"])
    db.session.commit()
    return {"detail": RESET_ON_ITS_WAY}, 202


@blp.route("/password/reset", methods=["POST"])
@password_work()
@blp.arguments(PasswordResetSchema)
@blp.response(204)
@problems(400, 429, 503)
def reset_password(data):
    """Set a new password with the token from a reset mail; every session is signed out.

    The token works once and expires (PASSWORD_RESET_TOKEN_SECONDS); an
    unknown, spent or expired one is 400. A password equal to the username or
    email is 422 and leaves the token unspent.
    """
    try:
        user = account_mail.spend_token(data["token"], account_mail.RESET)
    except account_mail.InvalidToken:
        raise BadRequest(INVALID_LINK) from None
    # Refused (422) before anything is committed: the token stays unspent.
    check_password_differs(data["password"], user.username, user.email, "password")
    accounts.reset_password(user, data["password"])
    db.session.commit()


@blp.route("/email/verify", methods=["POST"])
@blp.arguments(EmailVerifySchema)
@blp.response(204)
@problems(400, 503)
def verify_email(data):
    """Confirm the account's email with the token from a verification mail (400 if invalid)."""
    try:
        accounts.verify_email(data["token"])
    except account_mail.InvalidToken:
        raise BadRequest(INVALID_LINK) from None
    db.session.commit()


@blp.route("/email/verify/resend", methods=["POST"])
@auth_required()
@verification_resend_throttle
@blp.response(204)
@problems(409, 429, 503)
def resend_verification():
    """Send another verification mail to the signed-in user's email (409 if verified)."""
    if current_user.email_verified:
        raise Conflict(ALREADY_VERIFIED)
    account_mail.send_verification(current_user)
    db.session.commit()
