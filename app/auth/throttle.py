"""Login throttling: failed attempts are counted per account and per client address.

Only failures count (`deduct_when`), so a user who signs in correctly is never
slowed down; past the limit every attempt is 429 with `Retry-After`, right or
wrong, until the window moves on. Counters live in Redis when REDIS_URL is set,
so the limit holds across workers and hosts.
"""

from flask import current_app, request
from flask_limiter.util import get_remote_address

from app.extensions import limiter


def failed(response):
    """A wrong password: 401 at login, 403 for a password change."""
    return response.status_code in (401, 403)


def login_account_key():
    body = request.get_json(silent=True)
    login = body.get("login") if isinstance(body, dict) else None
    return f"account:{login.strip().lower()}" if isinstance(login, str) else get_remote_address()


def config_value(name):
    return lambda: current_app.config[name]


per_account = limiter.limit(
    config_value("RATELIMIT_LOGIN_PER_ACCOUNT"),
    key_func=login_account_key,
    deduct_when=failed,
    scope="login-account",
)
per_address = limiter.limit(
    config_value("RATELIMIT_LOGIN_PER_ADDRESS"),
    key_func=get_remote_address,
    deduct_when=failed,
    scope="login-address",
)


def throttled(view):
    """Both login limits, documented as a possible 429."""
    return per_account(per_address(view))
