"""How a request holds database connections (app/core/database.py).

A read-only request reads its rows on a connection of its own, in autocommit
on PostgreSQL. The main thread (gunicorn's sync workers serve every request
there) keeps that connection from request to request and checks it before
each; any other thread gives it back to the pool when the request ends,
whatever the outcome. A connection goes back transactional, so the next write
request that draws it is still all-or-nothing.
"""

import threading

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from app.core import database
from app.extensions import db
from tests.content_helpers import API, post_url, publish
from tests.sql_helpers import engine_events


def checked_out(app):
    with app.app_context():
        return db.engine.pool.checkedout()


def kept_connection(app):
    with app.app_context():
        return database._kept.get(db.engine, (None,))[0]


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


def read_on_another_thread(app, alice, post):
    """As the dev server does: a thread per request (each with its own client; the
    test's client keeps its contexts on the test's thread)."""
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


def test_reads_on_the_main_thread_keep_one_connection(app, client, alice):
    post = publish(client, alice, title="Kept")
    read_everything(client, alice, post)
    kept = kept_connection(app)
    assert kept is not None
    assert checked_out(app) == 1  # between requests, only the kept one is out
    read_everything(client, alice, post)
    assert kept_connection(app) is kept  # the same one, not one more
    assert checked_out(app) == 1
    with app.app_context():
        db.engine.dispose()  # e.g. the test's end: the kept connection goes too
    assert kept_connection(app) is None


def test_a_kept_connection_is_replaced_when_it_is_too_old(app, client, alice, monkeypatch):
    publish(client, alice)
    assert client.get(f"{API}/posts").status_code == 200
    first = kept_connection(app)
    first_dbapi = first.connection.dbapi_connection
    monkeypatch.setattr(database, "POOL_RECYCLE_S", -1)  # every connection is too old
    assert client.get(f"{API}/posts").status_code == 200
    assert first.closed
    assert kept_connection(app).connection.dbapi_connection is not first_dbapi  # not lent again
    assert checked_out(app) == 1


def test_reads_on_other_threads_give_their_connections_back(app, client, alice):
    post = publish(client, alice, title="Lent")
    before = checked_out(app)
    read_on_another_thread(app, alice, post)
    assert checked_out(app) == before


def test_a_kept_connection_sees_what_others_committed(app, client, alice):
    """Its transaction ends with each request, so no read keeps an old snapshot
    (SQLite's would, for as long as a read transaction stays open)."""
    publish(client, alice, title="First")
    assert len(client.get(f"{API}/posts").get_json()["items"]) == 1
    publish(client, alice, title="Second")
    assert len(client.get(f"{API}/posts").get_json()["items"]) == 2


@pytest.mark.postgres
def test_a_kept_connection_the_server_dropped_is_replaced(app, client, alice):
    publish(client, alice)
    assert client.get(f"{API}/posts").status_code == 200
    first = kept_connection(app).connection.dbapi_connection.info.backend_pid
    killer = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
    with killer.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": first})
    killer.dispose()
    assert client.get(f"{API}/posts").status_code == 200
    assert kept_connection(app).connection.dbapi_connection.info.backend_pid != first


@pytest.mark.postgres
def test_connections_lent_for_reading_come_back_transactional(app, client, alice):
    post = publish(client, alice)
    for _ in range(3):
        assert client.get(f"{API}/posts").status_code == 200
    read_on_another_thread(app, alice, post)
    with app.app_context():
        db.engine.dispose()  # the kept one is closed, the lent ones are back
    # Drawn for a write: the pool must not hand over a connection still in autocommit.
    with app.test_request_context(method="POST"), db.engine.connect() as connection:
        assert connection.connection.dbapi_connection.autocommit is False


@pytest.mark.postgres
def test_a_read_runs_in_autocommit(app, client, alice):
    """One round trip per read: in autocommit psycopg sends no BEGIN before the
    SELECT, so no ROLLBACK follows it either."""

    publish(client, alice)
    with engine_events(app, "before_cursor_execute") as calls:
        assert client.get(f"{API}/posts").status_code == 200
    assert [conn.connection.dbapi_connection.autocommit for conn, *_ in calls] == [True]


@pytest.mark.postgres
def test_a_kept_connection_in_autocommit_is_not_rolled_back_after_each_read(app, client, alice):
    publish(client, alice)
    with engine_events(app, "rollback") as rollbacks:
        for _ in range(3):
            assert client.get(f"{API}/posts").status_code == 200
    assert rollbacks == []


@pytest.mark.postgres
def test_a_kept_connection_is_rolled_back_after_an_error(app):
    with engine_events(app, "rollback") as rollbacks, app.test_request_context():
        database.reading_connection().execute(text("SELECT 1"))
        database.close_reading_connection(RuntimeError("the view failed"))
    assert len(rollbacks) == 1
