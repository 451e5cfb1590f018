"""Account mail through a real Celery worker process on the Redis broker.

On the PostgreSQL run (REDIS_URL set): the API enqueues after its commit, a
worker subprocess (`celery -A worker:celery worker`, as the Procfile runs it) claims
and sends over SMTP to a real server on a loopback port; a worker SIGKILLed
mid-batch loses nothing, because the next worker's periodic sweep delivers
what was pending.
"""

import os
import signal
import subprocess
import sys

import pytest
import redis
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMessage
from config import BASE_DIR
from tests.conftest import PASSWORD, bearer
from tests.servers import wait_until
from tests.smtp_server import CapturingSMTP, token_in

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]
BROKER = os.environ.get("REDIS_URL")
# The Celery queue and its bookkeeping in the broker's database: this suite's
# own keys, deleted before each test (never the whole database).
CELERY_KEYS = ("celery", "unacked", "unacked_index", "unacked_mutex")


class Worker:
    def __init__(self, tmp_path, smtp, *, beat=False, name="worker"):
        self.log_path = tmp_path / f"{name}.log"
        self.command = [sys.executable, "-m", "celery", "-A", "worker:celery", "worker"]
        self.command += ["--pool", "solo", "--without-mingle", "--without-gossip", "-l", "INFO"]
        if beat:
            self.command += ["--beat", "--schedule", str(tmp_path / f"{name}-beat")]
        self.env = {
            **os.environ,
            "APP_ENV": "testing",
            "CELERY_BROKER_URL": BROKER,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(smtp.port),
            "OUTBOX_RETRY_BASE_SECONDS": "0",
            "OUTBOX_SWEEP_SECONDS": "1",
        }
        self.process = None

    def start(self):
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                self.command, cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        wait_until(self.ready, 60, f"the worker did not start; see {self.log_path}")
        return self

    def ready(self):
        assert self.process.poll() is None, f"the worker exited; see {self.log_path}"
        return " ready." in self.log_path.read_text()

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def broker():
    client = redis.Redis.from_url(BROKER)
    client.delete(*CELERY_KEYS)
    yield client
    client.delete(*CELERY_KEYS)
    client.close()


@pytest.fixture
def workers(tmp_path, broker):
    started = []

    def start(smtp, **options):
        started.append(Worker(tmp_path, smtp, name=f"worker{len(started)}", **options).start())
        return started[-1]

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def smtp():
    server = CapturingSMTP().start()
    yield server
    server.stop()


def test_reset_and_verification_through_the_worker(make_app, smtp, workers):
    workers(smtp)
    app = make_app(OUTBOX_DELIVERY="celery", CELERY_BROKER_URL=BROKER)
    client = app.test_client()

    account = {"username": "vera", "email": "vera@example.com", "password": PASSWORD}
    assert client.post("/auth/register", json=account).status_code == 201
    wait_until(lambda: smtp.to("vera@example.com"), 30, "no verification mail arrived")
    verify = {"token": token_in(smtp.to("vera@example.com")[0])}
    assert client.post("/auth/email/verify", json=verify).status_code == 204
    assert client.post("/auth/email/verify", json=verify).status_code == 400
    smtp.clear()

    pair = client.post("/auth/login", json={"login": "vera", "password": PASSWORD}).json
    assert client.get("/auth/me", headers=bearer(pair["access_token"])).json["email_verified"]
    forgot = {"email": account["email"]}
    assert client.post("/auth/password/forgot", json=forgot).status_code == 202
    wait_until(lambda: smtp.to("vera@example.com"), 30, "no reset mail arrived")
    reset = {"token": token_in(smtp.to("vera@example.com")[0]), "password": "a new passphrase"}
    assert client.post("/auth/password/reset", json=reset).status_code == 204
    assert client.get("/auth/me", headers=bearer(pair["access_token"])).status_code == 401
    assert client.post("/auth/password/reset", json=reset).status_code == 400
    login = {"login": "vera", "password": "a new passphrase"}
    assert client.post("/auth/login", json=login).status_code == 200


def outbox_ids(app):
    with app.app_context():
        return set(db.session.scalars(select(OutboxMessage.message_id)))


def test_a_worker_killed_mid_batch_loses_nothing(make_app, make_user, workers, broker):
    slow_smtp = CapturingSMTP(delay_s=0.05).start()
    try:
        app = make_app(CELERY_BROKER_URL=BROKER)  # rows only: the test wakes the worker
        for number in range(40):
            make_user(f"user{number}")
        first = workers(slow_smtp)
        app.extensions["celery"].send_task("folio.outbox.deliver")
        wait_until(lambda: len(slow_smtp.messages) >= 5, 60, "the first worker sent nothing")
        first.kill()
        assert len(slow_smtp.messages) < 40, "the batch finished before the kill"

        workers(slow_smtp, beat=True)  # its sweep picks up what the dead one left
        expected = outbox_ids(app)
        wait_until(lambda: set(slow_smtp.message_ids()) == expected, 90, "messages were lost")
        counts = slow_smtp.message_ids()
        # At most the one in flight when the worker died goes twice (same Message-ID).
        assert sum(counts.values()) - len(expected) <= 1
        with app.app_context():
            unsent = select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
            assert db.session.scalars(unsent).all() == []
    finally:
        slow_smtp.stop()


def test_mail_sent_while_the_smtp_server_is_down_arrives_once_it_is_back(
    make_app, make_user, smtp, workers
):
    smtp.stop()
    app = make_app(CELERY_BROKER_URL=BROKER)
    for name in ("ann", "ben", "cat"):
        make_user(name)
    workers(smtp, beat=True)

    def tried_twice():
        with app.app_context():
            return all(m.attempts >= 2 for m in db.session.scalars(select(OutboxMessage)))

    wait_until(tried_twice, 60, "the worker did not retry")
    smtp.start()
    expected = outbox_ids(app)
    wait_until(lambda: set(smtp.message_ids()) == expected, 60, "mail was lost")
    assert set(smtp.message_ids().values()) == {1}
