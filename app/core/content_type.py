"""Request bodies are JSON: anything else is 415 before a view runs; paths are plain.

A POST that takes no body (logout, favourite, follow) needs no content type,
so only requests that carry a body are checked.
"""

import re

from flask import request
from werkzeug.exceptions import NotFound, RequestEntityTooLarge, UnsupportedMediaType

BODY_METHODS = {"POST", "PUT", "PATCH"}


def is_chunked():
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def has_body():
    return bool(request.content_length) or is_chunked()


def require_json_body():
    if request.method in BODY_METHODS and has_body() and not request.is_json:
        raise UnsupportedMediaType("Request bodies must be application/json.")


class MergeSlashes:
    """WSGI middleware: `//` in a path matches as `/`, as nginx merges it by default.

    Werkzeug's own `merge_slashes` answers such a path with a 308 redirect and
    an HTML body, which Flask sends as is (routing redirects bypass the error
    handlers); the contract has no redirects and no HTML. The path is merged
    before Flask matches it, so it is routed where it is.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if "//" in path:
            environ["PATH_INFO"] = re.sub("/{2,}", "/", path)
        return self.wsgi_app(environ, start_response)


def refuse_chunked_body_over_limit():
    """413 for a chunked body longer than MAX_CONTENT_LENGTH, as for a Content-Length one.

    With no Content-Length, werkzeug can only meet the limit while reading, and
    its reader then stops at the limit without a word: the cut-off body was
    parsed and answered 400 as malformed JSON. The body is read here, once
    (cached for the view), and one byte more is asked of the server's stream.
    """
    limit = request.max_content_length
    if limit is None or request.content_length is not None or not is_chunked():
        return
    body = request.get_data(cache=True)
    if len(body) >= limit and request.environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge()


def refuse_nul_in_path():
    """A NUL in the path names nothing (and PostgreSQL could not even compare it)."""
    if "\x00" in request.path:
        raise NotFound()


def no_type_without_content(response):
    """A 204 or 304 has no body, so it names no media type (flask-smorest sets one)."""
    if response.status_code in (204, 304):
        response.headers.pop("Content-Type", None)
    return response
