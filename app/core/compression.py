"""gzip for JSON answers, for the servers that have no nginx in front.

`make run` (the dev server) and platforms whose router passes bytes as they
are (Heroku, Fly, Cloud Run) send what Folio writes: a page of 20 posts is
about 12 KB of JSON, and about a fifth of that gzipped. Behind nginx
(`make serve`, docker-compose) nginx compresses instead, once, and
APP_COMPRESS=false turns this off.

Compressed: a 2xx JSON or problem+json body of at least MIN_BYTES, when the
client accepts gzip. Never a 304, a HEAD, a streamed body, or a small one
(gzip's header and the CPU cost more than they save). `Vary: Accept-Encoding`
goes on every answer that would be compressed for a client that asked, so a
shared cache keeps the encodings apart.

A strong ETag names exact bytes, so the compressed answer's strong tag gets a
`-gzip` suffix (the identity one keeps its own); app/core/conditional.py reads
either back. Weak tags (lists) already say "same meaning, maybe other bytes".
"""

import gzip

from flask import request

from app.core.conditional import ENCODED_SUFFIX

JSON_TYPES = frozenset({"application/json", "application/problem+json"})
MIN_BYTES = 1024
# Level 6 (gzip's default) saved 1% more bytes than 5 on a list page, for 20% more CPU.
LEVEL = 5


def init_compression(app):
    if app.config.get("APP_COMPRESS", True):
        app.after_request(compress_json)


def compressible(response):
    return (
        200 <= response.status_code < 300
        and response.status_code != 204
        and request.method != "HEAD"
        and response.mimetype in JSON_TYPES
        and not response.is_streamed
        and not response.direct_passthrough
        and "Content-Encoding" not in response.headers
        and response.calculate_content_length() >= MIN_BYTES
    )


def compress_json(response):
    """After every request: gzip the body when `compressible` and the client accepts it."""
    if response.status_code == 304:
        # A 304 carries the Vary its 200 would have (RFC 9110 15.4.5); its body is
        # unknown here, and naming Accept-Encoding needlessly costs nothing.
        response.vary.add("Accept-Encoding")
        return response
    if not compressible(response):
        return response
    response.vary.add("Accept-Encoding")
    if request.accept_encodings.quality("gzip") <= 0:
        return response
    response.set_data(gzip.compress(response.get_data(), compresslevel=LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    tag = response.headers.get("ETag")
    if tag and tag.startswith('"'):
        response.headers["ETag"] = tag[:-1] + ENCODED_SUFFIX + '"'
    return response
