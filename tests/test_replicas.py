"""Reads from a real streaming replica that never hide a user's own writes.

A throwaway primary and a hot standby of it (tests/replication.py); the app
under test points at both, with Redis for the users' write positions. Which
server served a read is told two ways: the statements each engine sent
(counted by engine events in the test), and what a read sees while the
replica's replay is paused (the replica cannot show a row written since).

Runs in the PostgreSQL pass of `make test` only (it brings its own servers).
"""

import os
import threading
import time
import uuid

import pytest
from sqlalchemy import event

from app import create_app
from app.core import replicas
from app.extensions import db
from tests.replication import (
    StreamingReplica,
    connect,
    require_postgres_binaries,
    throwaway_primary,
)
from tests.servers import wait_until

pytestmark = pytest.mark.processes  # starts PostgreSQL servers

REPLAY_TIMEOUT_S = 30
PASSWORD = "correct horse battery staple"
# Position checks (ours, once a second) are not the reads under test.
CHECKS = ("pg_current_wal_lsn", "pg_last_wal_replay_lsn")


@pytest.fixture(scope="module", autouse=True)
def replication_environment():
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("runs in the PostgreSQL pass of make test (TEST_DATABASE_URL)")
    require_postgres_binaries()


@pytest.fixture(scope="module")
def primary():
    with throwaway_primary() as port:
        yield port


@pytest.fixture(scope="module")
def replica(primary):
    replica = StreamingReplica(primary).start()
    yield replica
    replica.remove()


class Statements:
    """Statements sent per server by the app's engines, position checks left out."""

    def __init__(self, app):
        self.sent = {"primary": 0, "replica": 0}
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", self.counter("primary"))
        for replica in app.extensions[replicas.REPLICAS].replicas:
            event.listen(replica.engine, "before_cursor_execute", self.counter("replica"))

    def counter(self, server):
        def count(connection, cursor, statement, *args):
            if not any(check in statement for check in CHECKS):
                self.sent[server] += 1

        return count

    def during(self, action):
        """(what `action` returned, statements sent per server meanwhile)."""
        before = dict(self.sent)
        result = action()
        return result, {server: self.sent[server] - before[server] for server in self.sent}


@pytest.fixture(scope="module")
def app(primary, replica):
    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://postgres@127.0.0.1:{primary}/folio",
        DATABASE_REPLICA_URLS=[replica.url],
        REPLICA_MAX_LAG_S=60,  # no anonymous fallback on a slow machine mid-test
        REDIS_URL=os.environ.get("REDIS_URL"),
    )
    forget_write_positions(app)  # a fresh primary's users take ids an earlier run left keys for
    with app.app_context():
        db.create_all()
    wait_until(lambda: replayed_to_primary(primary, replica), REPLAY_TIMEOUT_S, "no replay")
    app.statements = Statements(app)
    yield app
    dispose(app)


def forget_write_positions(app):
    redis = app.extensions[replicas.REPLICAS].redis
    if redis is not None:
        for key in redis.scan_iter(replicas.WRITE_POSITION_KEY.format("*")):
            redis.delete(key)


def replayed_to_primary(primary, replica):
    with connect(primary) as connection:
        written = connection.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    return replica.execute(f"SELECT pg_last_wal_replay_lsn() >= '{written}'::pg_lsn")[0]


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


def sign_up(client, name):
    account = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    assert client.post("/auth/register", json=account).status_code == 201
    response = client.post("/auth/login", json={"login": name, "password": PASSWORD})
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def publish(client, author, title):
    post = {"title": title, "body": "Replicated.", "status": "published"}
    response = client.post("/api/v1/posts", json=post, headers=author)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def titles(client, headers=None):
    response = client.get("/api/v1/posts?per_page=100", headers=headers or {})
    assert response.status_code == 200, response.get_json()
    return {item["title"] for item in response.get_json()["items"]}


def fallbacks(reason):
    return replicas.PRIMARY_FALLBACKS.labels(reason)._value.get()


def test_reads_are_served_by_the_replica_and_writes_by_the_primary(app, client, primary, replica):
    author = sign_up(client, "writer")
    _, sent = app.statements.during(lambda: publish(client, author, "On the primary"))
    assert sent["primary"] > 0
    assert sent["replica"] == 0
    wait_until(lambda: replayed_to_primary(primary, replica), REPLAY_TIMEOUT_S, "no replay")
    listed, sent = app.statements.during(lambda: titles(client))
    assert "On the primary" in listed
    assert sent == {"primary": 0, "replica": sent["replica"]}
    assert sent["replica"] > 0
    metrics = client.get("/metrics").get_data(as_text=True)
    assert f'folio_db_replica_lag_seconds{{replica="127.0.0.1:{replica.port}/folio"}}' in metrics
    assert 'folio_db_routed_reads_total{server="replica"}' in metrics


@pytest.mark.redis  # where the writer's position is shared between instances
def test_with_replay_paused_a_writer_reads_their_write_from_the_primary(
    app, client, primary, replica
):
    author = sign_up(client, "paused")
    wait_until(lambda: replayed_to_primary(primary, replica), REPLAY_TIMEOUT_S, "no replay")
    titles(client)  # the replica's position known: a position history to date it by
    replica.execute("SELECT pg_wal_replay_pause()")
    try:
        title = f"Written while paused {uuid.uuid4().hex[:6]}"
        publish(client, author, title)
        before = fallbacks("behind_own_write")
        listed, sent = app.statements.during(lambda: titles(client, author))
        assert title in listed  # the writer's own write, at once
        assert sent["replica"] == 0
        assert fallbacks("behind_own_write") == before + 1
        # On another instance too: the position is in Redis, not in this process.
        other_instance = instance_like(app, REDIS_URL=app.config["REDIS_URL"])
        try:
            assert title in titles(other_instance.test_client(), author)
        finally:
            dispose(other_instance)
        # Anyone else reads the replica, which does not have it yet, and is not held up.
        started = time.monotonic()
        listed, sent = app.statements.during(lambda: titles(client))
        assert title not in listed
        assert sent["primary"] == 0
        assert time.monotonic() - started < 2
    finally:
        replica.execute("SELECT pg_wal_replay_resume()")
    wait_until(lambda: title in titles(client), REPLAY_TIMEOUT_S, "replay never resumed")
    listed, sent = app.statements.during(lambda: titles(client, author))
    assert title in listed
    # Replayed past their write: back to the replica. The token's check (revoked?
    # still active?) stays on the primary: a sign-out takes effect at once.
    assert sent["replica"] > 0
    assert sent["primary"] == 1


def test_anonymous_reads_skip_a_replica_further_behind_than_the_limit(
    app, client, primary, replica
):
    strict = instance_like(app, REPLICA_MAX_LAG_S=1, REDIS_URL=None)
    reader = strict.test_client()
    author = sign_up(client, "hurried")
    wait_until(lambda: replayed_to_primary(primary, replica), REPLAY_TIMEOUT_S, "no replay")
    titles(reader)  # dated: caught up
    replica.execute("SELECT pg_wal_replay_pause()")
    try:
        title = f"Past the limit {uuid.uuid4().hex[:6]}"
        publish(client, author, title)
        time.sleep(2.5)  # the replica now misses 2.5 s of the primary's writes
        before = fallbacks("replica_lagging")
        assert title in titles(reader)  # from the primary
        assert fallbacks("replica_lagging") == before + 1
        replicas_state = reader.get("/health/ready").get_json()["replicas"]
        assert replicas_state == {f"127.0.0.1:{replica.port}/folio": "lagging"}
        # Without Redis no instance knows a user's last write: signed in, the primary.
        before = fallbacks("signed_in_without_redis")
        assert title in titles(reader, author)
        assert fallbacks("signed_in_without_redis") == before + 1
    finally:
        replica.execute("SELECT pg_wal_replay_resume()")
        dispose(strict)


def instance_like(app, **settings):
    """Another Folio instance on the same primary and replicas."""
    return create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        DATABASE_REPLICA_URLS=app.config["DATABASE_REPLICA_URLS"],
        **settings,
    )


def dispose(app):
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    app.extensions[replicas.REPLICAS].dispose()


def test_a_stopped_replica_degrades_to_the_primary_without_a_failed_request(app, client, replica):
    author = sign_up(client, "survivor")
    errors = []

    def read_while_it_stops():
        for _ in range(20):
            response = client.get("/api/v1/posts")
            if response.status_code != 200:
                errors.append(response.status_code)

    reader = threading.Thread(target=read_while_it_stops)
    reader.start()
    replica.stop()
    reader.join(60)
    assert errors == []
    before = fallbacks("replica_down")
    title = "After the replica stopped"
    publish(client, author, title)
    listed, sent = app.statements.during(lambda: titles(client))
    assert title in listed
    assert sent["primary"] > 0 and sent["replica"] == 0
    assert fallbacks("replica_down") > before
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'folio_db_primary_fallbacks_total{reason="replica_down"}' in metrics
    health = client.get("/health/ready")
    assert health.status_code == 200
    assert health.get_json()["replicas"] == {f"127.0.0.1:{replica.port}/folio": "down"}
