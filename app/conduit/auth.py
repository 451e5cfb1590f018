"""`Authorization: Token <jwt>`, Conduit's scheme, accepted beside `Bearer`.

flask-jwt-extended reads one scheme for the whole app (JWT_HEADER_TYPE,
"Bearer"), and `verify_jwt_in_request` cannot be given another. Changing the
setting per request would race between threads, so instead this blueprint's
`before_request` rewrites `Token x` to `Bearer x` in this request's own WSGI
environ, before any view reads it. Everything after that is Folio's usual
token check: signature, expiry, type, revocation and an active account.
"""

from flask import request

TOKEN_SCHEME = "token"


def accept_token_scheme():
    scheme, _, token = request.environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == TOKEN_SCHEME and token.strip():
        request.environ["HTTP_AUTHORIZATION"] = f"Bearer {token.strip()}"


def presented_token():
    """The access token of this request, which Conduit echoes back as `user.token`."""
    return request.headers.get("Authorization", "").partition(" ")[2].strip()
