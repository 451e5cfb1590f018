"""What caches may keep: shared caches, the caller's own cache, or nothing.

- Answers that carry tokens or the caller's own account: `no-store` (`no_store`).
  It keeps a token or an email out of browser and proxy caches and out of HTTP
  client libraries' disk caches, where another user of the machine or the proxy
  could read it. /auth/me still sends an ETag: a client that keeps the body
  itself may revalidate it with If-None-Match.
- Public reads (lists, posts, comments, users' pages): any cache may keep them,
  but must revalidate before each reuse (`max-age=0, must-revalidate`), which
  is cheap: a 304 from an ETag (app/core/conditional.py). `public` also lets a
  shared cache keep an answer to a request that sent a token, which RFC 9111
  otherwise forbids; that is right only when the answer is the same for every
  caller, so:
- Reads whose answer depends on the token (viewer flags, drafts, the feed):
  `private` when a token was sent (only the caller's own cache keeps it), and
  `Vary: Authorization` whether or not one was, so a shared cache never hands
  an anonymous copy to a signed-in caller or the reverse.

A view's answer depends on the token exactly when a decorator of its own
(`auth_required`, `auth_optional`) read one: flask-jwt-extended then has the
request's claims. Views that never read a token (tags, categories) are public.
"""

from functools import wraps

from flask import make_response, request
from flask_jwt_extended import get_jwt
from flask_smorest import Blueprint

NO_STORE = "no-store"
PUBLIC = "public, max-age=0, must-revalidate"
PRIVATE = "private, max-age=0, must-revalidate"


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


def token_claims():
    """The request's token claims ({} when anonymous), or None when no decorator
    read the token: the answer is then the same for everyone."""
    try:
        return get_jwt()
    except RuntimeError:
        return None


def allow_caching(response):
    """Say who may keep a GET's 200 or 304 (see the module's docstring); returns it."""
    if request.method not in ("GET", "HEAD") or response.status_code not in (200, 304):
        return response
    claims = token_claims()
    if claims is not None:
        response.vary.add("Authorization")
    response.headers.setdefault("Cache-Control", PRIVATE if claims else PUBLIC)
    return response
