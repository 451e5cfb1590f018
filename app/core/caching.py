"""Answers no cache may keep: the ones that carry tokens or the caller's own account.

`Cache-Control: no-store` keeps a token or an email out of browser and proxy
caches and out of HTTP client libraries' disk caches, where another user of
the machine or the proxy could read it. /auth/me still sends an ETag: a
client that keeps the body itself may revalidate it with If-None-Match.
"""

from functools import wraps

from flask import make_response
from flask_smorest import Blueprint

NO_STORE = "no-store"


def no_store(view):
    """Send `Cache-Control: no-store` with every answer of `view` (and say so in the spec).

    Goes above `@blp.response`, whose success statuses it documents.
    """

    @wraps(view)
    def wrapper(*args, **kwargs):
        response = make_response(view(*args, **kwargs))
        response.headers["Cache-Control"] = NO_STORE
        return response

    statuses = getattr(view, "_apidoc", {}).get("success_status_codes", [])
    documented = {status: {"headers": {"Cache-Control": "Cache-Control"}} for status in statuses}
    return Blueprint.doc(responses=documented)(wrapper)
