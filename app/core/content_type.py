"""Request bodies are JSON: anything else is 415 before a view runs.

A POST that takes no body (logout, favourite, follow) needs no content type,
so only requests that carry a body are checked.
"""

from flask import request
from werkzeug.exceptions import NotFound, UnsupportedMediaType

BODY_METHODS = {"POST", "PUT", "PATCH"}


def has_body():
    return (
        bool(request.content_length)
        or "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    )


def require_json_body():
    if request.method in BODY_METHODS and has_body() and not request.is_json:
        raise UnsupportedMediaType("Request bodies must be application/json.")


def refuse_nul_in_path():
    """A NUL in the path names nothing (and PostgreSQL could not even compare it)."""
    if "\x00" in request.path:
        raise NotFound()


def no_type_without_content(response):
    """A 204 or 304 has no body, so it names no media type (flask-smorest sets one)."""
    if response.status_code in (204, 304):
        response.headers.pop("Content-Type", None)
    return response
