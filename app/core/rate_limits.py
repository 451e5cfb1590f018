"""Rate limits for the whole API (Flask-Limiter), keyed by user or client address.

Every endpoint shares `RATELIMIT_DEFAULT` (e.g. 300/minute), counted per
signed-in user when the request carries a valid access token and per client
address otherwise (behind a proxy, set PROXY_FIX_X_FOR so the address is the
client's). Login has its own stricter limits (app/core/throttle.py).

Counters live in Redis when REDIS_URL is set, so limits hold across gunicorn
workers and hosts. If Redis stops answering, Flask-Limiter counts in memory
per process (and logs it) rather than failing requests: the API keeps serving.

Not limited: CORS preflights (a browser sends one before many real calls) and
the operational endpoints load balancers and scrapers poll.
"""

from flask import g, request
from flask_jwt_extended import decode_token
from flask_limiter.util import get_remote_address

UNLIMITED_PREFIXES = ("/health", "/metrics", "/docs", "/openapi.json")


def client_key():
    """`user:<id>` for a valid access token, else the client's address."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() in ("bearer", "token") and token:
        try:
            claims = decode_token(token)
        except Exception:  # any invalid token: the view will answer 401; count by address
            return get_remote_address()
        if claims.get("type") == "access":
            return f"user:{claims['sub']}"
    return get_remote_address()


def exempt():
    return request.method == "OPTIONS" or request.path.startswith(UNLIMITED_PREFIXES)


def keep_retry_after_for_refusals(response):
    """Flask-Limiter adds Retry-After to every answer of a limited route; on a 200
    it would tell a client to back off from a request that succeeded. It stays on
    the answers it means something for: 429 and 503.

    Flask-Limiter also raises a refusal's own Retry-After to its window's reset
    (a minute, say); a refusal that set `g.retry_after_s` (a busy hash slot, free
    again within a second; the database, tried again in a few) keeps its own."""
    if response.status_code not in (429, 503):
        response.headers.remove("Retry-After")  # not pop(): no exception when it is absent
    elif "retry_after_s" in g:
        response.headers["Retry-After"] = str(g.retry_after_s)
    return response
