"""The idempotency store: one record per (user, Idempotency-Key), kept `IDEMPOTENCY_TTL_S`.

A record is claimed (inserted) before the create runs, in the create's own
transaction, and filled with the answer when it succeeds; the unique
(user, key) index makes a concurrent duplicate wait for the first to commit.
The HTTP side (the header, replaying an answer) is app/api/idempotency.py.
"""

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.core.clock import utcnow
from app.extensions import db
from app.models import IdempotencyRecord


def find_record(user_id, key):
    """The live record for this user and key, or None."""
    return db.session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id,
            IdempotencyRecord.key == key,
            IdempotencyRecord.expires_at > utcnow(),
        )
    )


def claim(user_id, key, fingerprint):
    """(this request's new record, None), or (None, the record that got there first)."""
    db.session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id,
            IdempotencyRecord.key == key,
            IdempotencyRecord.expires_at <= utcnow(),
        )
    )
    ttl = timedelta(seconds=current_app.config["IDEMPOTENCY_TTL_S"])
    record = IdempotencyRecord(
        user_id=user_id, key=key, request_hash=fingerprint, expires_at=utcnow() + ttl
    )
    db.session.add(record)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return None, find_record(user_id, key)
    return record, None


def keep_answer(record, status_code, body, location):
    """Store the create's answer with its record; the caller's commit makes both durable."""
    record.status_code = status_code
    record.response_body = body
    record.location = location


def purge_expired(now=None):
    """Delete the records past their time; returns how many went."""
    result = db.session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= (now or utcnow()))
    )
    return result.rowcount
