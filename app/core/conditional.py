"""Conditional requests: ETags for single resources, 304 and 412.

A tag is `"<version>-<digest>"`: the resource's revision counter, then a digest
of the exact bytes sent. `If-None-Match` compares whole tags, so a client's
cached copy is reused only while every byte (counts and viewer flags included)
is the same. `If-Match` compares the revision only: it guards the resource's
own fields, so an edit is not refused because someone else favourited the
post meanwhile. The revision check is race-free because every UPDATE also
checks the version it loaded (SQLAlchemy's version counter): a writer that
lost the race gets StaleDataError, answered 412.
"""

import hashlib
from functools import wraps

from flask import g, request
from flask_smorest import Blueprint
from werkzeug.exceptions import PreconditionFailed

from app.core.numbers import whole_number

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
        return response

    return wrapper


def cacheable(view):
    """A GET with an ETag that honours If-None-Match (and says so in the spec)."""
    return if_none_match(etagged(view))


def if_none_match_hits(tag):
    """If-None-Match uses weak comparison (RFC 9110): W/"x" matches "x"; * matches any."""
    header = request.headers.get("If-None-Match", "")
    candidates = {candidate.strip().removeprefix("W/") for candidate in header.split(",")}
    return "*" in candidates or tag in candidates


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
