"""Conditional requests: ETags for single resources and lists, 304 and 412.

A tag is `"<version>-<digest>"`: the resource's revision counter, then a digest
of the exact bytes sent. `If-None-Match` compares whole tags, so a client's
cached copy is reused only while every byte (counts and viewer flags included)
is the same. `If-Match` compares the revision only: it guards the resource's
own fields, so an edit is not refused because someone else favourited the
post meanwhile. The revision check is race-free because every UPDATE also
checks the version it loaded (SQLAlchemy's version counter): a writer that
lost the race gets StaleDataError, answered 412.

Lists (`conditional_list`) are tagged before they are read: `W/"<list version>-
<digest of the request>"`, where the list version is one number every write to
a listed table bumps (app/models/list_changes.py) and the digest covers what
else shapes the answer (API version, path, query, the caller when the view read
a token). A matching If-None-Match is answered 304 after one primary-key read,
without the list's query. The tag is weak: it names the answer's meaning, not
its bytes (the same tag serves the gzip and identity encodings, and the body is
never hashed).

Compression (app/core/compression.py) gives a compressed answer's strong tag a
`-gzip` suffix, so the two encodings never share a strong tag; If-None-Match
treats the suffixed tag as the same (weak comparison) and If-Match reads the
revision in front of it.
"""

import hashlib
from functools import wraps

from flask import current_app, g, make_response, request
from flask_smorest import Blueprint
from werkzeug.exceptions import PreconditionFailed

from app.core.caching import allow_caching, token_claims
from app.core.numbers import whole_number
from app.core.openapi import CONDITIONAL_LIST

# Where the app keeps the list version's reader (`init_conditional_lists`).
LIST_VERSION_READER = "folio.list_version"
# What compression appends to a strong tag (app/core/compression.py).
ENCODED_SUFFIX = "-gzip"

# Documents the headers; the spec plugin adds 304/412 and ETag from them.
if_none_match = Blueprint.doc(parameters=["If-None-Match"])
if_match = Blueprint.doc(parameters=["If-Match"])


def versioned(resource):
    """Record the revision of what the view returns; `etagged` builds the tag from it."""
    g.etag_version = resource.version
    return resource


def etag_for(version, body):
    digest = hashlib.blake2b(body, digest_size=8).hexdigest()
    return f'"{version}-{digest}"' if version is not None else f'"{digest}"'


def etagged(view):
    """Add a strong ETag to a 200 response and answer a matching If-None-Match with 304."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        response = view(*args, **kwargs)
        if response.status_code != 200:
            return response
        tag = etag_for(g.pop("etag_version", None), response.get_data())
        response.headers["ETag"] = tag
        if request.method in ("GET", "HEAD") and if_none_match_hits(tag):
            response.status_code = 304
            response.set_data(b"")
            response.headers.pop("Content-Length", None)
            response.headers.pop("Content-Type", None)
        return allow_caching(response)

    return wrapper


def init_conditional_lists(app, read_version):
    """`read_version()` -> the list version, or None when unknown (a service's
    reader, handed in: plumbing imports no services)."""
    app.extensions[LIST_VERSION_READER] = read_version


def list_version():
    return current_app.extensions[LIST_VERSION_READER]()


def list_etag(version):
    """The weak tag of this list request at `version` (see the module's docstring)."""
    claims = token_claims() or {}
    material = repr(
        (
            current_app.config["API_VERSION"],
            request.path,
            sorted(request.args.items(multi=True)),
            claims.get("sub"),
        )
    )
    digest = hashlib.blake2b(material.encode(), digest_size=8).hexdigest()
    return f'W/"{version}-{digest}"'


def conditional_list(view):
    """Tag a list's 200 and answer a matching If-None-Match with 304 before the list
    is read. Goes below the auth decorator (the tag names the caller) and below
    `@blp.arguments`, so that arguments are checked first: a request the schema
    refuses is a 422, never a 304 (`If-None-Match: *` matches any tag); documents
    If-None-Match and the 304 in the spec."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        version = list_version() if request.method in ("GET", "HEAD") else None
        if version is None:  # no counter row: unknown, so never 304
            return allow_caching(make_response(view(*args, **kwargs)))
        tag = list_etag(version)
        if if_none_match_hits(tag):
            response = current_app.response_class(status=304)
            response.headers.pop("Content-Type", None)
        else:
            response = make_response(view(*args, **kwargs))
        if response.status_code in (200, 304):
            response.headers["ETag"] = tag
        return allow_caching(response)

    return Blueprint.doc(**{CONDITIONAL_LIST: True})(wrapper)


def cacheable(view):
    """A GET with an ETag that honours If-None-Match (and says so in the spec)."""
    return if_none_match(etagged(view))


def if_none_match_hits(tag):
    """If-None-Match uses weak comparison (RFC 9110): W/"x" matches "x"; * matches any.

    A tag compression suffixed (`"x-gzip"`) names the same answer as `"x"`."""
    header = request.headers.get("If-None-Match", "")
    if not header:
        return False
    candidates = {without_encoding(candidate) for candidate in header.split(",")}
    return "*" in candidates or without_encoding(tag) in candidates


def without_encoding(tag):
    """`W/"x-gzip"` -> `"x"`: the tag compared weakly, whatever the encoding."""
    tag = tag.strip().removeprefix("W/")
    suffixed = ENCODED_SUFFIX + '"'
    return tag.removesuffix(suffixed) + '"' if tag.endswith(suffixed) else tag


def revision_of(tag):
    """The revision a strong tag names; a weak tag never matches (RFC 9110, If-Match)."""
    tag = tag.strip()
    if not (tag.startswith('"') and tag.endswith('"')):
        return None
    version, _, _ = tag.strip('"').partition("-")
    return whole_number(version)


def check_if_match(resource):
    """412 unless If-Match (when sent) names the resource's current revision."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return
    if resource.version not in {revision_of(tag) for tag in header.split(",")}:
        raise PreconditionFailed("The resource has changed since that ETag; fetch it again.")
