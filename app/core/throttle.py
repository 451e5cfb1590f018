"""Login throttling: failed attempts are counted per account and per client address.

Only failures count (`deduct_when`), so a user who signs in correctly is never
slowed down; past the limit every attempt is 429 with `Retry-After`, right or
wrong, until the window moves on. Counters live in Redis when REDIS_URL is set,
so the limit holds across workers and hosts.

Each blueprint that signs users in names where its body carries the login
(`login_throttle(login_of)`); the counters are shared, so an attacker gains no
attempts by switching from one sign-in endpoint to another.
"""

from flask import current_app, request
from flask_limiter.util import get_remote_address

from app.extensions import limiter


def failed(response):
    """A wrong password: 401 at login, 403 for a password change."""
    return response.status_code in (401, 403)


def account_key(login_of):
    """Key failures by the account the JSON body names (`login_of(body)`), else by address."""

    def key():
        body = request.get_json(silent=True)
        login = login_of(body) if isinstance(body, dict) else None
        if isinstance(login, str):
            return f"account:{login.strip().lower()}"
        return get_remote_address()

    return key


def config_value(name):
    return lambda: current_app.config[name]


per_address = limiter.limit(
    config_value("RATELIMIT_LOGIN_PER_ADDRESS"),
    key_func=get_remote_address,
    deduct_when=failed,
    scope="login-address",
)


def login_throttle(login_of):
    """Both login limits for a view whose JSON body carries the login where `login_of` looks."""
    per_account = limiter.limit(
        config_value("RATELIMIT_LOGIN_PER_ACCOUNT"),
        key_func=account_key(login_of),
        deduct_when=failed,
        scope="login-account",
    )
    return lambda view: per_account(per_address(view))
