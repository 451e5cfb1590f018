"""Engine settings per database, chosen from the URL at start-up.

PostgreSQL: a bounded connect timeout and statement timeout so no request
hangs on a sick database. A read costs one round trip, as in a hand-written
app: a pooled connection is checked for a server hang-up without a query
(`check_out`), and a read-only request runs in autocommit, so no BEGIN goes
before its SELECT and no ROLLBACK after it (each statement of a READ
COMMITTED transaction sees its own snapshot anyway, so reads lose nothing).

SQLite: foreign keys on (off by default there), WAL so the dev server's
readers do not block on a writer, and a busy timeout instead of "database is
locked".
"""

import os
import select
import sqlite3
import threading
import time
from pathlib import Path

import orjson
import psycopg
import psycopg.types.json
from flask import g, has_request_context, request
from sqlalchemy import JSON, Boolean, event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import Pool
from sqlalchemy.sql.functions import GenericFunction

from app.core.cursors import DescribedOnDemand
from app.extensions import db

# JSON values (a post's author and category) parsed by orjson rather than json.
psycopg.types.json.set_json_loads(orjson.loads)

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
POOL_RECYCLE_S = 1800  # no connection is used longer (idle links dropped by firewalls)
READ_ONLY_AUTOCOMMIT = "folio_read_only_autocommit"  # set on the pool record while lent out


def engine_options(config):
    url = make_url(config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "postgresql":
        return {
            "pool_size": config["DB_POOL_SIZE"],
            "max_overflow": config["DB_POOL_SIZE"],
            "pool_timeout": config["DB_CONNECT_TIMEOUT_S"],
            "pool_recycle": POOL_RECYCLE_S,
            "connect_args": {
                "connect_timeout": config["DB_CONNECT_TIMEOUT_S"],
                # UTC sessions: psycopg then marks times with datetime.UTC itself,
                # which the UTCDateTime column type and field pass through as is.
                "options": f"-c statement_timeout={config['DB_STATEMENT_TIMEOUT_MS']}"
                " -c TimeZone=UTC",
                "application_name": "folio",
            },
        }
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        return {"connect_args": {"timeout": 15}}
    return {"pool_pre_ping": True}


def reading():
    """Whether this is a read-only request (work outside a request may write)."""
    return has_request_context() and request.method in READ_ONLY_METHODS


def reading_connection():
    """Where plain-row reads run: in a read-only request, a connection of its own
    (`lend_reading_connection`), handed back when the request ends; otherwise the
    session's, so a request reads its own uncommitted writes.

    A read-only request needs nothing of the ORM session's bookkeeping around
    its queries (the transaction it begins, the close and expunge at the end):
    it cost a single-post request about a tenth of its time in process.
    """
    if not reading():
        return db.session.connection()
    connection = g.get("reading_connection")
    if connection is None:
        connection = g.reading_connection = lend_reading_connection(db.engine)
    return connection


# engine -> (connection, when it was taken, by which process): the main thread's
# reading connection, kept between requests.
_kept = {}


def lend_reading_connection(engine):
    """A connection for this request's reads.

    The main thread, where gunicorn's sync workers serve every request one at a
    time (gunicorn.conf.py), keeps one from request to request, as Django's
    persistent connections do: checking a connection out of the pool and back
    in cost a single post more than a tenth of its CPU. It is checked before
    each request as the pool checks its own (`check_out`: the server's goodbye
    on the socket) and replaced when older than POOL_RECYCLE_S. Other threads
    (the dev server starts one per request) draw from the pool and give it back
    at teardown.
    """
    if threading.current_thread() is not threading.main_thread():
        return engine.connect()
    connection, since, pid = _kept.get(engine, (None, 0.0, None))
    if connection is not None and not still_usable(connection, since, pid):
        forget_kept_connection(engine)
        connection = None
    if connection is None:
        connection = engine.connect()
        _kept[engine] = (connection, time.monotonic(), os.getpid())
    return connection


def still_usable(connection, since, pid):
    if pid != os.getpid() or connection.closed or connection.invalidated:
        return False
    if time.monotonic() - since > POOL_RECYCLE_S:
        return False
    dbapi_connection = connection.connection.dbapi_connection
    if isinstance(dbapi_connection, psycopg.Connection):
        return not dbapi_connection.closed and not server_hung_up(dbapi_connection)
    return True


def forget_kept_connection(engine):
    """Close the kept connection for good (it is dead, too old, or its engine is
    disposed): invalidated, so the pool discards it rather than lending it again.
    Dropped untouched if another process made it (a worker forked from a master
    that read would share its socket)."""
    connection, _, pid = _kept.pop(engine, (None, 0.0, None))
    if connection is None or pid != os.getpid():
        return
    if not connection.invalidated:
        connection.invalidate()
    connection.close()


@event.listens_for(Engine, "engine_disposed")
def forget_on_dispose(engine):
    forget_kept_connection(engine)


def close_reading_connection(error=None):
    """At teardown: a kept connection ends its transaction (SQLite's read snapshot),
    any other goes back to the pool.

    On PostgreSQL a kept connection runs in autocommit, so each statement was its
    own transaction and there is nothing to end: SQLAlchemy's bookkeeping for the
    rollback cost 2.5% of a single post's CPU under load. After an error it rolls
    back all the same.
    """
    connection = g.pop("reading_connection", None)
    if connection is None:
        return
    kept = _kept.get(connection.engine, (None,))[0]
    if connection is not kept:
        connection.close()
        return
    if error is None and idle_in_autocommit(connection.connection.dbapi_connection):
        return
    try:
        connection.rollback()
    except Exception:  # the connection died mid-request: the next one takes another
        forget_kept_connection(connection.engine)


def idle_in_autocommit(dbapi_connection):
    return (
        isinstance(dbapi_connection, psycopg.Connection)
        and dbapi_connection.autocommit
        and dbapi_connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    )


def init_reading_connections(app):
    app.teardown_appcontext(close_reading_connection)


def server_hung_up(dbapi_connection):
    """Whether an idle connection has something to read: the server's goodbye (a
    restart, pg_terminate_backend) or end-of-file. Asked without a round trip."""
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN)
    return bool(poller.poll(0))


@event.listens_for(Pool, "checkout")
def check_out(dbapi_connection, connection_record, connection_proxy):
    """Replace a connection the server dropped, and choose autocommit for reads.

    Raising DisconnectionError makes the pool discard this connection and hand
    out another (SQLAlchemy's documented custom pessimistic check): a database
    restart costs a reconnect, not a failed request. A statement that still
    meets a dead connection invalidates the whole pool, and is a 503.
    """
    if not isinstance(dbapi_connection, psycopg.Connection):
        return
    if dbapi_connection.closed or server_hung_up(dbapi_connection):
        raise DisconnectionError("the server closed the connection")
    if reading() and not dbapi_connection.autocommit:
        dbapi_connection.autocommit = True
        connection_record.info[READ_ONLY_AUTOCOMMIT] = True


@event.listens_for(Pool, "checkin")
def check_in(dbapi_connection, connection_record):
    """Hand a connection back as it was: transactional, unless its engine said otherwise."""
    lent_for_reading = connection_record.info.pop(READ_ONLY_AUTOCOMMIT, False)
    if lent_for_reading and dbapi_connection is not None and not dbapi_connection.closed:
        dbapi_connection.autocommit = False


@event.listens_for(Engine, "connect")
def describe_columns_on_demand(dbapi_connection, connection_record):
    if isinstance(dbapi_connection, psycopg.Connection):
        dbapi_connection.cursor_factory = DescribedOnDemand


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
    writing = has_request_context() and request.method not in READ_ONLY_METHODS
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


class json_object(GenericFunction):
    """A JSON object built by the database from alternating names and values,
    read back as a dict: json_build_object on PostgreSQL, json_object on SQLite."""

    type = JSON()
    inherit_cache = True


@compiles(json_object, "postgresql")
def json_object_on_postgresql(element, compiler, **kw):
    return f"json_build_object({compiler.process(element.clauses, **kw)})"


@compiles(json_object, "sqlite")
def json_object_on_sqlite(element, compiler, **kw):
    """SQLite has no boolean type: a boolean value is written out as JSON true or
    false, or the object would hold 1 and 0."""
    parts = []
    for clause in element.clauses:
        sql = compiler.process(clause, **kw)
        if isinstance(clause.type, Boolean):
            sql = f"json(CASE WHEN {sql} THEN 'true' ELSE 'false' END)"
        parts.append(sql)
    return f"json_object({', '.join(parts)})"
