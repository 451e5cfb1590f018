"""The database layer (app/core/database.py): what Folio adds to its own engine,
and which connection a read runs on.

Listeners sit on the app's engine, never on SQLAlchemy's classes, so an engine
made elsewhere (Alembic's, a test helper's) is left as SQLAlchemy makes it.
Reads run on the read-only engine (autocommit) unless the session is in a
transaction, whose connection then serves them, so a request reads its own
writes. Nothing depends on the HTTP method.
"""

import sqlite3
import threading

import orjson
import psycopg
import pytest
from sqlalchemy import create_engine, event, insert, select, text
from sqlalchemy.pool import NullPool

from app.core import database
from app.extensions import db
from app.models import Category
from tests.content_helpers import API, post_url, publish
from tests.sql_helpers import engine_events


def checked_out(app):
    with app.app_context():
        return db.engine.pool.checkedout()


def read_everything(client, alice, post):
    paths = (
        f"{API}/posts",
        f"{API}/posts?page=2&per_page=1",
        post_url(post),
        f"{API}/posts/999999",  # a 404 after a read
        "/api/articles",
        f"{API}/feed",
    )
    for path in paths:
        assert client.get(path, headers=alice).status_code in (200, 404)


def is_read_only(connection):
    return connection.get_execution_options().get(database.READ_ONLY, False)


def test_the_database_layer_knows_nothing_of_http():
    assert "request" not in vars(database)
    assert "has_request_context" not in vars(database)


def test_an_engine_made_elsewhere_gets_none_of_folios_listeners(app):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    elsewhere = create_engine(url, poolclass=NullPool)
    with app.app_context():
        ours = db.engine
    for engine, expected in ((ours, True), (elsewhere, False)):
        attached = [
            event.contains(engine, "connect", database.configure_sqlite_connection),
            event.contains(engine, "begin", database.begin_sqlite_transaction),
            event.contains(engine, "connect", database.parse_json_with_orjson),
            event.contains(engine.pool, "checkout", database.replace_connection_the_server_dropped),
        ]
        assert any(attached) is expected
    elsewhere.dispose()


def test_an_sqlite_engine_made_elsewhere_keeps_sqlites_defaults(app):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite"):
        pytest.skip("SQLite's pragmas")
    elsewhere = create_engine(url, poolclass=NullPool)
    with elsewhere.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
    elsewhere.dispose()
    with app.app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_read_outside_a_transaction_uses_the_read_only_engine(app, method):
    """The HTTP method plays no part: a POST that has not touched the session yet
    reads like a GET."""
    with app.test_request_context(method=method):
        connection = database.reading_connection()
        assert is_read_only(connection)
        assert database.reading_connection() is connection  # one per context


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_read_inside_the_sessions_transaction_sees_its_uncommitted_writes(app, method):
    with app.test_request_context(method=method):
        db.session.execute(insert(Category).values(name="Unsaved", slug="unsaved"))
        connection = database.reading_connection()
        assert connection is db.session.connection()
        assert not is_read_only(connection)
        names = connection.execute(select(Category.name)).scalars().all()
        assert names == ["Unsaved"]
        db.session.rollback()
        assert is_read_only(database.reading_connection())  # the transaction is over


def test_the_reading_connection_goes_back_to_the_pool_when_the_context_ends(app, client, alice):
    post = publish(client, alice, title="Lent")
    before = checked_out(app)
    read_everything(client, alice, post)
    assert checked_out(app) == before


def test_reads_on_other_threads_give_their_connections_back(app, client, alice):
    """As the dev server does: a thread per request."""
    post = publish(client, alice, title="Lent")
    before = checked_out(app)
    failures = []

    def read():
        try:
            read_everything(app.test_client(), alice, post)
        except Exception as error:  # reported below, on the test's own thread
            failures.append(error)

    reader = threading.Thread(target=read)
    reader.start()
    reader.join()
    assert not failures, failures
    assert checked_out(app) == before


def test_a_read_after_the_commit_sees_what_was_committed(app, client, alice):
    publish(client, alice, title="First")
    assert len(client.get(f"{API}/posts").get_json()["items"]) == 1
    publish(client, alice, title="Second")
    assert len(client.get(f"{API}/posts").get_json()["items"]) == 2


def test_sqlite_sessions_take_the_write_lock_and_readers_take_none(app, database_url):
    """BEGIN IMMEDIATE for the session, so two writers queue instead of racing;
    nothing for the read-only engine, so a reader never holds up a writer."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's locking")
    path = database_url.removeprefix("sqlite:///")

    def another_writer_can_begin():
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            other.close()

    with app.app_context():
        database.reading_connection().execute(select(Category.id)).all()
        assert another_writer_can_begin()
        db.session.execute(select(Category.id)).all()
        assert not another_writer_can_begin()
        db.session.rollback()
    assert another_writer_can_begin()


@pytest.mark.postgres
def test_a_read_runs_in_autocommit(app, client, alice):
    """One round trip per read: in autocommit psycopg sends no BEGIN before the
    SELECT, so no ROLLBACK follows it either. (Two reads: the list version, for
    the list's ETag, then the list.)"""
    publish(client, alice)
    with engine_events(app, "before_cursor_execute") as calls:
        assert client.get(f"{API}/posts").status_code == 200
    assert [is_read_only(conn) for conn, *_ in calls] == [True, True]
    assert [
        options["isolation_level"]
        for conn, *_ in calls
        for options in [conn.get_execution_options()]
    ] == ["AUTOCOMMIT", "AUTOCOMMIT"]


@pytest.mark.postgres
def test_connections_lent_for_reading_come_back_transactional(app, client, alice):
    publish(client, alice)
    for _ in range(3):
        assert client.get(f"{API}/posts").status_code == 200
    # Drawn by the session (a writer): never a connection still in autocommit.
    with app.app_context():
        for _ in range(3):
            assert db.session.connection().connection.dbapi_connection.autocommit is False
            db.session.rollback()


@pytest.mark.postgres
def test_a_connection_the_server_dropped_is_replaced(app, client, alice):
    publish(client, alice)
    assert client.get(f"{API}/posts").status_code == 200
    with app.app_context(), db.engine.connect() as connection:
        pid = connection.connection.dbapi_connection.info.backend_pid
    killer = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
    with killer.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
    killer.dispose()
    for _ in range(3):  # whichever pooled connection it was, none fails a request
        assert client.get(f"{API}/posts").status_code == 200


@pytest.mark.postgres
def test_orjson_parses_json_on_folios_connections_only(app):
    with app.app_context(), db.engine.connect() as connection:
        ours = connection.connection.dbapi_connection
        assert ours.execute("SELECT '{\"a\": 1}'::json").fetchone()[0] == {"a": 1}
        assert json_loader(ours)._loads is orjson.loads  # psycopg keeps it there
    url = app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(url) as other:
        assert json_loader(other)._loads is not orjson.loads


def json_loader(connection):
    oid = psycopg.adapters.types["json"].oid
    return connection.adapters.get_loader(oid, psycopg.pq.Format.TEXT)


@pytest.mark.parametrize("path", [f"{API}/tags", "/api/tags"])
def test_a_list_of_tags_reads_on_the_read_only_engine(app, client, alice, path):
    """A list that writes nothing takes no session transaction: plain rows on the
    read-only engine (one round trip on PostgreSQL, no BEGIN and no ROLLBACK)."""
    publish(client, alice, tags=["python"])
    with engine_events(app, "before_cursor_execute") as calls:
        assert client.get(path).status_code == 200
    assert calls and all(is_read_only(conn) for conn, *_ in calls)
