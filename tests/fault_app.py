"""Folio plus a small write path, for the fault test to run under gunicorn.

    gunicorn -c gunicorn.conf.py 'tests.fault_app:create_fault_app()'

tests/test_fault_tolerance.py starts it with the production configuration
against a throwaway PostgreSQL cluster. POST /fault/writes stores two rows in
one transaction, with a pause between them, so a write cut in half by a
failure would be visible as a lone row. It stands in for the content API's
writes: once POST /api/v1/posts exists, the fault test should drive that
instead and this module can go.

On import it also leaves an open connection in the pool, as an app that
touched the database while gunicorn preloaded it would: the test proves that
post_fork keeps the workers from sharing it.
"""

import os

from flask import Blueprint, request
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, text

from app import create_app
from app.extensions import db

metadata = MetaData()
fault_writes = Table(
    "fault_writes",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("part", Integer, primary_key=True),
)

blp = Blueprint("fault", __name__, url_prefix="/fault")


@blp.post("/writes")
def write():
    """Two rows, one transaction: after any failure both are there or neither is."""
    key = request.get_json()["key"]
    db.session.execute(insert(fault_writes).values(key=key, part=1))
    db.session.execute(text("SELECT pg_sleep(0.005)"))  # widen the gap between the rows
    db.session.execute(insert(fault_writes).values(key=key, part=2))
    db.session.commit()
    return {"key": key, "worker_pid": os.getpid()}, 201


@blp.get("/backend")
def backend():
    """Which worker answered, on which PostgreSQL backend (connection)."""
    backend_pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
    return {"worker_pid": os.getpid(), "backend_pid": backend_pid}


def create_fault_app():
    """Called by gunicorn in its master, never at import: tests import the table only."""
    app = create_app()
    app.register_blueprint(blp)
    with app.app_context():
        db.session.execute(text("SELECT 1"))  # a pooled connection, opened before the fork
        db.session.remove()
    return app
