"""Idempotent creates: a POST with `Idempotency-Key` runs at most once per user and key.

The decorated view is the request's edge for creates: it commits. With a key,
the record (user, key, request hash) is inserted first, in the same
transaction as the resource and the stored answer, so either all three are
committed or none. A concurrent duplicate blocks on the unique (user, key)
index until the first commits, then replays its answer. A replay with a
different body is 422. Records live 24 hours (`IDEMPOTENCY_TTL_S`); the store
is app/services/idempotency.py. Only /api/v1 offers the header.
"""

import hashlib
import json
import re
from functools import wraps

from flask import current_app, request
from flask_jwt_extended import current_user
from flask_smorest import Blueprint
from werkzeug.exceptions import Conflict, UnprocessableEntity

from app.core.openapi import IDEMPOTENCY_KEY_PATTERN, problems
from app.extensions import db
from app.services.idempotency import claim, find_record, keep_answer

HEADER = "Idempotency-Key"
# 1 to 255 visible ASCII characters, as the spec documents: the column holds 255,
# and a key a client cannot write back byte for byte (spaces that proxies may
# fold, latin-1 that HTTP libraries decode differently) would not replay.
VALID_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)


def request_fingerprint():
    """What "the same request" means: method, path and the JSON body's content
    (key order and spacing do not matter; a body that is not JSON counts as bytes)."""
    body = request.get_json(silent=True)
    content = request.get_data() if body is None else json.dumps(body, sort_keys=True).encode()
    material = b"\n".join([request.method.encode(), request.path.encode(), content])
    return hashlib.sha256(material).hexdigest()


def replay(record, fingerprint):
    if record.request_hash != fingerprint:
        raise UnprocessableEntity(f"This {HEADER} was used with a different request.")
    if record.status_code is None:
        raise Conflict(f"A request with this {HEADER} is still in progress; retry shortly.")
    response = current_app.response_class(
        record.response_body, status=record.status_code, mimetype="application/json"
    )
    if record.location:
        response.headers["Location"] = record.location
    response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotent_create(view):
    """Commit a create once; with an Idempotency-Key, at most once per user and key."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            response = view(*args, **kwargs)
            db.session.commit()
            return response
        if not VALID_KEY.fullmatch(key):
            raise UnprocessableEntity(f"{HEADER} must be 1 to 255 visible ASCII characters.")
        fingerprint = request_fingerprint()
        if existing := find_record(current_user.id, key):
            return replay(existing, fingerprint)
        record, winner = claim(current_user.id, key, fingerprint)
        if winner is not None:
            return replay(winner, fingerprint)
        if record is None:
            raise Conflict(f"A request with this {HEADER} is still in progress; retry shortly.")
        response = view(*args, **kwargs)
        if 200 <= response.status_code < 300:
            body = response.get_data(as_text=True)
            keep_answer(record, response.status_code, body, response.headers.get("Location"))
            db.session.commit()
        return response

    return Blueprint.doc(parameters=["Idempotency-Key"])(problems(409)(wrapper))
