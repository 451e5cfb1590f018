"""Folio plus one diagnostic route, for the fault test to run under gunicorn.

    gunicorn -c gunicorn.conf.py 'tests.fault_app:create_fault_app()'

tests/test_fault_tolerance.py starts it with the production configuration
against a throwaway PostgreSQL cluster and writes through the real
`POST /api/v1/posts`. GET /fault/backend says which worker answered on which
PostgreSQL backend, so the test can see whether workers share a connection.

The factory also leaves an open connection in the pool, as an app that touched
the database while gunicorn preloaded it would: the test proves that
post_fork keeps the workers from sharing it.
"""

import os

from flask import Blueprint
from sqlalchemy import text

from app import create_app
from app.extensions import db

blp = Blueprint("fault", __name__, url_prefix="/fault")


@blp.get("/backend")
def backend():
    """Which worker answered, on which PostgreSQL backend (connection)."""
    backend_pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
    return {"worker_pid": os.getpid(), "backend_pid": backend_pid}


def create_fault_app():
    """Called by gunicorn in its master, never at import."""
    app = create_app()
    app.register_blueprint(blp)
    with app.app_context():
        db.session.execute(text("SELECT 1"))  # a pooled connection, opened before the fork
        db.session.remove()
    return app
