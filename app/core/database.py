"""Engine settings per database, chosen from the URL at start-up.

PostgreSQL: a bounded connect timeout and statement timeout so no request
hangs on a sick database, and pre-ping so a database restart costs one failed
checkout instead of a broken worker. SQLite: foreign keys on (off by default
there), WAL so the dev server's readers do not block on a writer, and a busy
timeout instead of "database is locked".
"""

import sqlite3
from pathlib import Path

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine, make_url


def engine_options(config):
    url = make_url(config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "postgresql":
        return {
            "pool_pre_ping": True,
            "pool_size": config["DB_POOL_SIZE"],
            "max_overflow": config["DB_POOL_SIZE"],
            "pool_timeout": config["DB_CONNECT_TIMEOUT_S"],
            "pool_recycle": 1800,
            "connect_args": {
                "connect_timeout": config["DB_CONNECT_TIMEOUT_S"],
                "options": f"-c statement_timeout={config['DB_STATEMENT_TIMEOUT_MS']}",
                "application_name": "folio",
            },
        }
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        return {"connect_args": {"timeout": 15}}
    return {"pool_pre_ping": True}


@event.listens_for(Engine, "connect")
def configure_sqlite_connection(dbapi_connection, connection_record):
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # SQLAlchemy, not the sqlite3 module, decides when transactions begin (see below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def insert_ignoring_duplicates(session, model, **values):
    """INSERT ... ON CONFLICT DO NOTHING; True when a row was inserted.

    Makes "add this pair" (a follow, a favourite, a tag) idempotent and
    race-safe without a read-then-write window.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    result = session.execute(insert(model).values(**values).on_conflict_do_nothing())
    return result.rowcount == 1


@event.listens_for(Engine, "begin")
def begin_sqlite_transaction(connection):
    """On SQLite a request that may write takes the write lock when it starts.

    SQLite has no SELECT ... FOR UPDATE: two writers that both read before
    either writes would otherwise race, and one would fail on the version
    check. BEGIN IMMEDIATE queues them instead (readers are not blocked in WAL
    mode), which gives PostgreSQL's row-lock behaviour: last writer wins,
    whole. Reads, and work outside a request, begin normally.
    """
    if connection.dialect.name != "sqlite":
        return
    writing = has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")
