"""How a request holds database connections (app/core/database.py).

A read-only request reads its rows on a connection of its own, in autocommit
on PostgreSQL; the connection goes back to the pool when the request ends,
whatever the outcome, and goes back transactional, so the next write request
that draws it is still all-or-nothing.
"""

import pytest

from app.extensions import db
from tests.content_helpers import API, post_url, publish


def checked_out(app):
    with app.app_context():
        return db.engine.pool.checkedout()


def test_reads_give_their_connections_back(app, client, alice):
    post = publish(client, alice, title="Kept")
    before = checked_out(app)
    for path in (
        f"{API}/posts",
        f"{API}/posts?page=2&per_page=1",
        post_url(post),
        f"{API}/posts/999999",  # a 404 after a read
        "/api/articles",
        f"{API}/feed",
    ):
        client.get(path, headers=alice)
    assert checked_out(app) == before


@pytest.mark.postgres
def test_connections_lent_for_reading_come_back_transactional(app, client, alice):
    publish(client, alice)
    for _ in range(3):
        assert client.get(f"{API}/posts").status_code == 200
    # Drawn for a write: the pool must not hand over a connection still in autocommit.
    with app.test_request_context(method="POST"), db.engine.connect() as connection:
        assert connection.connection.dbapi_connection.autocommit is False


@pytest.mark.postgres
def test_a_read_runs_in_autocommit(app, client, alice):
    """One round trip per read: in autocommit psycopg sends no BEGIN before the
    SELECT, so no ROLLBACK follows it either."""
    from sqlalchemy import event

    publish(client, alice)
    with app.app_context():
        engine = db.engine
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(conn.connection.dbapi_connection.autocommit)

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(f"{API}/posts").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert seen == [True]
