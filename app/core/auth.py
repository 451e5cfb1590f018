"""How every blueprint answers a token it cannot accept, wired once.

Every token failure is the same kind of answer: 401 problem details with
`WWW-Authenticate: Bearer`. Which user a token names, and whether it is
revoked, is the services' work (app/services/tokens.py registers those loaders).
"""

from pathlib import Path

from flask import current_app
from werkzeug.exceptions import Unauthorized

from app.core.errors import problem
from app.extensions import jwt

ASYMMETRIC_PREFIXES = ("RS", "ES", "PS", "Ed")


def unauthorized(detail):
    return problem(401, detail, headers={"WWW-Authenticate": "Bearer"})


@jwt.unauthorized_loader
def missing_token(reason):
    return unauthorized("A bearer token is required.")


@jwt.invalid_token_loader
def invalid_token(reason):
    return unauthorized("The token is invalid.")


@jwt.expired_token_loader
def expired_token(_header, _claims):
    return unauthorized("The token has expired.")


@jwt.revoked_token_loader
def revoked_token(_header, _claims):
    return unauthorized("The token has been revoked.")


@jwt.user_lookup_error_loader
def unknown_user(_header, _claims):
    return unauthorized("The token's account is unknown or inactive.")


@jwt.needs_fresh_token_loader
def stale_token(_header, _claims):
    return unauthorized("A fresh token is required.")


@jwt.token_verification_failed_loader
def failed_verification(_header, _claims):
    return unauthorized("The token is invalid.")


def sign_in_again(detail):
    """401 for a change that needs proof of a recent sign-in the token does not give.

    The challenge is OAuth's step-up one (RFC 9470): the token is valid, but
    the sign-in behind it is older than `max_age` seconds (or was refreshed).
    """
    max_age = current_app.config["JWT_FRESH_SECONDS"]
    challenge = (
        'Bearer error="insufficient_user_authentication", '
        f'error_description="{detail}", max_age={max_age}'
    )
    error = Unauthorized(detail)
    error.data = {"headers": {"WWW-Authenticate": challenge}}
    return error


def configure_token_keys(config):
    """HS* signs with JWT_SECRET_KEY; RS/ES/PS/EdDSA read PEM key files."""
    config["JWT_DECODE_ALGORITHMS"] = [config["JWT_ALGORITHM"]]
    if config["JWT_ALGORITHM"].startswith(ASYMMETRIC_PREFIXES):
        config["JWT_PRIVATE_KEY"] = Path(config["JWT_PRIVATE_KEY_FILE"]).read_text()
        config["JWT_PUBLIC_KEY"] = Path(config["JWT_PUBLIC_KEY_FILE"]).read_text()
