"""The database layer: engine settings per database, and what Folio adds to its
own engine. Nothing here knows of HTTP: who reads and who writes is said by the
connection used, never guessed from the request.

Two ways to the database:
- The session (Flask-SQLAlchemy's), for writers and for anything that must see
  this transaction's writes: always transactional. On SQLite its transactions
  begin IMMEDIATE (see `begin_sqlite_transaction`).
- `reading_connection()`, for the read model's plain-row reads: a connection of
  the app's read-only engine (`read_only_engine`), in autocommit on PostgreSQL
  so a read costs one round trip (no BEGIN before its SELECT, no ROLLBACK
  after; each statement of a READ COMMITTED transaction sees its own snapshot
  anyway, so reads lose nothing). While the session is in a transaction, the
  session's own connection instead, so a request reads its own uncommitted
  writes.

`init_database(app)` puts the listeners on the app's own engines, inside the
factory: Alembic's engine, migration checks' and the tests' helpers' are left
as SQLAlchemy makes them.

PostgreSQL: a bounded connect timeout and statement timeout so no request
hangs on a sick database, and a pooled connection is checked for a server
hang-up without a query (`replace_connection_the_server_dropped`).

SQLite: foreign keys on (off by default there), WAL so the dev server's
readers do not block on a writer, and a busy timeout instead of "database is
locked".
"""

import select
from pathlib import Path
from types import SimpleNamespace

import orjson
import psycopg
import psycopg.types.json
from flask import current_app, g
from sqlalchemy import JSON, Boolean, event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction

from app.core import replicas
from app.extensions import db

POOL_RECYCLE_S = 1800  # no connection is used longer (idle links dropped by firewalls)
# The execution option that marks the read-only engine's connections.
READ_ONLY = "folio_read_only"


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


def init_database(app):
    """Folio's listeners on the app's own engines, and the reading connection's
    hand-back at the end of each application context."""
    with app.app_context():
        for engine in db.engines.values():
            attach_listeners(engine)
        # Made once: an OptionEngine per read would cost every request its making.
        app.extensions[READ_ONLY] = read_only_engine(db.engine)
        hooks = SimpleNamespace(
            engine_options=engine_options,
            attach_listeners=attach_listeners,
            close_reading_connection=close_reading_connection,
        )
        replicas.init_replicas(app, db.engine, app.extensions[READ_ONLY], hooks)
    app.teardown_appcontext(close_reading_connection)


def attach_listeners(engine):
    dialect = engine.dialect.name
    if dialect == "postgresql":
        event.listen(engine, "connect", parse_json_with_orjson)
        event.listen(engine.pool, "checkout", replace_connection_the_server_dropped)
    elif dialect == "sqlite":
        event.listen(engine, "connect", configure_sqlite_connection)
        event.listen(engine, "begin", begin_sqlite_transaction)


def read_only_engine(engine):
    """The engine the read model reads from: the same pool, its connections marked
    READ_ONLY and in autocommit (each statement its own transaction). On
    PostgreSQL through the isolation level, which SQLAlchemy puts back when a
    connection returns to the pool, so writers always draw transactional ones;
    on SQLite by beginning nothing (`begin_sqlite_transaction`)."""
    options = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        options["isolation_level"] = "AUTOCOMMIT"
    return engine.execution_options(**options)


def reading_connection():
    """The connection the read model's plain-row reads run on.

    While the session is in a transaction: the session's own connection, so a
    request that reads after writing sees its uncommitted writes (services'
    `reload`), and a request that holds locks (SQLite's write lock, a row
    locked FOR UPDATE) never waits for a second connection while holding them.
    Otherwise (an anonymous read, or a read after the commit): a connection of
    the read-only engine (`read_only_engine`), taken at the first read of the
    application context and handed back at its teardown.

    With replicas (`app/core/replicas.py`), only a transaction that has written
    or locked keeps the session's connection; the others read from a replica
    fresh enough for this reader, or else from the read-only engine.
    """
    # Asked without making a session: an anonymous read never needs one (28 us).
    if db.session.registry.has() and db.session().in_transaction() and not replicas.may_leave():
        return db.session().connection()
    connection = g.get("reading_connection")
    if connection is None:
        connection = replicas.reading_engine_connection()
        if connection is None:
            connection = current_app.extensions[READ_ONLY].connect()
        g.reading_connection = connection
    return connection


def close_reading_connection(error=None):
    """At teardown: the reading connection goes back to the pool (in autocommit
    there is no transaction to end)."""
    connection = g.pop("reading_connection", None)
    if connection is not None:
        connection.close()


def parse_json_with_orjson(dbapi_connection, connection_record):
    """JSON values (a post's author and category) parsed by orjson rather than
    json, on Folio's connections only."""
    psycopg.types.json.set_json_loads(orjson.loads, context=dbapi_connection)


def server_hung_up(dbapi_connection):
    """Whether an idle connection has something to read: the server's goodbye (a
    restart, pg_terminate_backend) or end-of-file. Asked without a round trip."""
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN)
    return bool(poller.poll(0))


def replace_connection_the_server_dropped(dbapi_connection, connection_record, connection_proxy):
    """Raising DisconnectionError makes the pool discard this connection and hand
    out another (SQLAlchemy's documented custom pessimistic check): a database
    restart costs a reconnect, not a failed request. A statement that still
    meets a dead connection invalidates the whole pool, and is a 503.
    """
    if dbapi_connection.closed or server_hung_up(dbapi_connection):
        raise DisconnectionError("the server closed the connection")


def configure_sqlite_connection(dbapi_connection, connection_record):
    # SQLAlchemy, not the sqlite3 module, decides when transactions begin (see below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def begin_sqlite_transaction(connection):
    """On SQLite a transaction that may write takes the write lock when it starts.

    SQLite has no SELECT ... FOR UPDATE: two writers that both read before
    either writes would otherwise race, and one would fail on the version
    check. BEGIN IMMEDIATE queues them instead (readers are not blocked in WAL
    mode), which gives PostgreSQL's row-lock behaviour: last writer wins,
    whole. The read-only engine's connections begin nothing: each statement is
    its own transaction, as in PostgreSQL's autocommit, so a read after this
    request's commit sees it, and no lock is held.
    """
    if not connection.get_execution_options().get(READ_ONLY, False):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def insert_ignoring_duplicates(session, model, **values):
    """INSERT ... ON CONFLICT DO NOTHING; True when a row was inserted.

    Makes "add this pair" (a follow, a favourite, a tag) idempotent and
    race-safe without a read-then-write window.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    result = session.execute(insert(model).values(**values).on_conflict_do_nothing())
    return result.rowcount == 1


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
