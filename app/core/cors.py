"""Cross-origin access for browser clients, from the `CORS_ORIGINS` setting.

No origin is allowed in production until one is named; development and
testing allow any (`*`). Clients authenticate with a bearer token, not
cookies, so credentials are never allowed and `*` is safe to send as `*`
(flask-cors would otherwise echo each caller's Origin back).

Browsers hide response headers from scripts unless they are exposed: the
ones a client needs (ETag for conditional requests, Link for pagination,
Location after a create, the request id, and the rate-limit headers) are.
"""

from flask_cors import CORS

ALLOWED_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "Idempotency-Key",
    "X-Request-ID",
]
EXPOSED_RESPONSE_HEADERS = [
    "ETag",
    "Link",
    "Location",
    "X-Request-ID",
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
]
# Browsers may reuse a preflight answer this long; an origin removed from the
# configuration stops working within it.
PREFLIGHT_MAX_AGE_S = 600


def add_vary_origin(response):
    """The answer depends on the caller's Origin: shared caches must key on it.

    flask-cors only says so when several origins are configured; with one, a
    cached answer without CORS headers would be served to that origin too.
    """
    response.vary.add("Origin")
    return response


def init_cors(app):
    origins = app.config["CORS_ORIGINS"]
    if not origins:
        return
    any_origin = "*" in origins
    CORS(
        app,
        origins="*" if any_origin else origins,
        send_wildcard=any_origin,
        supports_credentials=False,
        allow_headers=ALLOWED_REQUEST_HEADERS,
        expose_headers=EXPOSED_RESPONSE_HEADERS,
        max_age=PREFLIGHT_MAX_AGE_S,
        always_send=False,  # no Origin, no CORS headers: the request is not cross-origin
        intercept_exceptions=False,  # error responses pass through after_request anyway
    )
    if not any_origin:
        app.after_request(add_vary_origin)
