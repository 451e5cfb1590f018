"""Faults under gunicorn: the database restarts, a worker is killed mid-request.

Folio runs as in production (gunicorn.conf.py, two workers, APP_ENV=production)
against a throwaway PostgreSQL cluster made here (initdb in a temp dir, started
with pg_ctl on a free port as the postgres OS user), under a bounded stream of
real writes: `POST /api/v1/posts`, each post with two tags, so a write cut in
half would show as a post missing a tag (or a tag link without its post).
After each fault:

- every write answered 2xx is in the database, both rows;
- no write is half there (a failed write may still be whole: the commit can
  succeed while the answer is lost, which a client must treat as unknown);
- during a database outage every failed write was a 503 problem-details answer,
  given within a bounded time, and readiness said the database was down;
- the service answers again within 10 s of the database returning, with no
  restart (dead pooled connections are replaced); the measured time is printed.

The module needs root (PostgreSQL refuses to run as root, so it runs as the
postgres user) and PostgreSQL's server binaries; without them it is skipped,
except with CI=true, where it must run. It runs in the SQLite pass of
`make test` only: it brings its own database, so a second run would add time
and no coverage.
"""

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from config import BASE_DIR
from tests.servers import Gunicorn, call, free_port, production_env, wait_until

pytestmark = pytest.mark.slow

WORKERS = 2
WRITER_THREADS = 4
CONNECT_TIMEOUT_S = 2
STATEMENT_TIMEOUT_MS = 5000
# No request may take longer than one connect attempt plus one statement, and slack.
ANSWER_BOUND_S = CONNECT_TIMEOUT_S + STATEMENT_TIMEOUT_MS / 1000 + 2
RECOVERY_BOUND_S = 10
PROBLEM = "application/problem+json"


def postgres_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def unavailable_reason():
    if os.environ.get("TEST_DATABASE_URL"):
        return "runs in the SQLite pass of make test: it brings its own PostgreSQL cluster"
    if os.geteuid() != 0:
        return "needs root, to run a throwaway PostgreSQL cluster as the postgres user"
    if postgres_bin() is None or not shutil.which("runuser"):
        return "needs PostgreSQL's server binaries (/usr/lib/postgresql/*/bin) and runuser"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "needs a postgres OS user to run the throwaway cluster"
    return None


@pytest.fixture(scope="module", autouse=True)
def fault_environment():
    reason = unavailable_reason()
    in_ci = os.environ.get("CI", "").lower() == "true"
    if reason and in_ci and not os.environ.get("TEST_DATABASE_URL"):
        pytest.fail(f"CI=true requires the fault test: {reason}")
    if reason:
        pytest.skip(reason)


class Cluster:
    """A PostgreSQL cluster in a temp dir, owned and run by the postgres user."""

    def __init__(self, root):
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.bin = postgres_bin()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, tool, *args):
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bin / tool), *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def init(self):
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")

    def start(self):
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.root} -c fsync=off"
        )
        log = str(self.root / "postgres.log")
        self.run(
            "pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "-t", "60", "start"
        )

    def stop(self, mode="fast"):
        """`immediate` is a crash: backends die without finishing their transactions."""
        self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")


@pytest.fixture(scope="module")
def cluster():
    root = Path(tempfile.mkdtemp(prefix="folio-fault-pg-"))
    shutil.chown(root, "postgres", "postgres")
    cluster = Cluster(root)
    cluster.init()
    cluster.start()
    migrate = [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"]
    env = production_env(DATABASE_URL=cluster.url)
    subprocess.run(migrate, cwd=BASE_DIR, env=env, check=True, capture_output=True, timeout=120)
    yield cluster
    with contextlib.suppress(subprocess.CalledProcessError):  # a failed test stopped it
        cluster.stop("immediate")
    shutil.rmtree(root, ignore_errors=True)


def fault_server(cluster, log_path):
    env = production_env(
        DATABASE_URL=cluster.url,
        DB_CONNECT_TIMEOUT_S=CONNECT_TIMEOUT_S,
        DB_STATEMENT_TIMEOUT_MS=STATEMENT_TIMEOUT_MS,
        RATELIMIT_DEFAULT="1000000/minute",  # the load is the point, not the limit
    )
    return Gunicorn(env, log_path, app="tests.fault_app:create_fault_app()", workers=WORKERS)


@pytest.fixture(scope="module")
def server(cluster, tmp_path_factory):
    server = fault_server(cluster, tmp_path_factory.mktemp("gunicorn") / "gunicorn.log").start()
    server.writer = sign_up_writer(server)
    yield server
    server.stop()


def sign_up_writer(server):
    """Bearer headers of an author who does the writing."""
    account = {"username": "writer", "email": "writer@example.com", "password": "fault writer pw"}
    assert server.call("POST", "/auth/register", account)[0] == 201
    status, _, pair = server.call(
        "POST", "/auth/login", {"login": "writer", "password": account["password"]}
    )
    assert status == 200, pair
    return {"Authorization": f"Bearer {pair['access_token']}"}


@dataclass
class Write:
    """One write request and what became of it; status None means no answer came."""

    key: str
    started: float
    seconds: float = 0.0
    status: int | None = None
    content_type: str = ""
    body: object = None
    error: str = ""

    @property
    def acknowledged(self):
        return self.status is not None and 200 <= self.status < 300


def write_once(server):
    write = Write(key=uuid.uuid4().hex, started=time.monotonic())
    post = {
        "title": f"fault {write.key}",
        "body": "x",
        "status": "published",
        "tags": [write.key, "fault"],
    }
    try:
        write.status, write.content_type, write.body = server.call(
            "POST", "/api/v1/posts", post, server.writer
        )
    except OSError as error:
        write.error = repr(error)
    write.seconds = time.monotonic() - write.started
    return write


class WriteLoad:
    """Writer threads that post until stopped: at most `limit` writes, `max_s` seconds."""

    def __init__(self, server, threads=WRITER_THREADS, limit=6000, max_s=120):
        self.server, self.limit, self.deadline = server, limit, time.monotonic() + max_s
        self.writes = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.run) for _ in range(threads)]

    def run(self):
        while (
            not self.stopping.is_set()
            and len(self.writes) < self.limit
            and time.monotonic() < self.deadline
        ):
            self.writes.append(write_once(self.server))
            time.sleep(0.002)

    def acknowledged_since(self, moment):
        return [w for w in self.writes if w.acknowledged and w.started >= moment]

    def wait_for_acknowledged(self, count, since=0.0, timeout_s=30):
        wait_until(
            lambda: len(self.acknowledged_since(since)) >= count,
            timeout_s,
            f"fewer than {count} writes acknowledged within {timeout_s} s",
        )

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stopping.set()
        for thread in self.threads:
            thread.join()


TAGS_PER_KEY = """
SELECT substr(p.title, 7), count(t.id)
FROM posts p
LEFT JOIN post_tags pt ON pt.post_id = p.id
LEFT JOIN tags t ON t.id = pt.tag_id AND t.name IN (substr(p.title, 7), 'fault')
WHERE p.title LIKE 'fault %'
GROUP BY p.id, p.title
"""


def rows_per_key(cluster):
    """For each stored post: how many of its two tags are linked (2 when whole)."""
    engine = create_engine(cluster.url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return dict(connection.execute(text(TAGS_PER_KEY)).all())
    finally:
        engine.dispose()


def assert_no_write_lost_or_torn(cluster, writes):
    stored = rows_per_key(cluster)
    lost = [w.key for w in writes if w.acknowledged and stored.get(w.key) != 2]
    torn = {key: count for key, count in stored.items() if count != 2}
    assert not lost, f"{len(lost)} acknowledged writes are missing"
    assert not torn, f"half-written writes: {torn}"
    unknown = [w for w in writes if not w.acknowledged and w.key in stored]
    print(
        f"\n{len(writes)} writes: {sum(w.acknowledged for w in writes)} acknowledged, "
        f"{len(writes) - sum(w.acknowledged for w in writes)} failed "
        f"({len(unknown)} of those committed before the answer was lost)"
    )


def assert_database_unavailable_problem(write):
    assert write.status == 503, write
    assert write.content_type.startswith(PROBLEM), write
    assert write.body["status"] == 503 and "database" in write.body["detail"], write


def scrape(port):
    status, _, body = call(port, "GET", "/metrics")
    assert status == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def backend_calls(samples):
    labels = (("endpoint", "/fault/backend"), ("method", "GET"), ("status", "200"))
    return samples.get(("folio_http_requests_total", labels), 0.0)


def test_each_worker_gets_its_own_database_connections(server):
    """post_fork disposes the pool inherited from the master (which fault_app warmed).

    Without it both workers talk over the master's one socket: garbled
    answers, or one PostgreSQL backend serving two processes.
    """
    answers = []

    def sample():
        for _ in range(25):
            answers.append(call(server.port, "GET", "/fault/backend"))

    for _ in range(4):  # until both workers have answered: the kernel picks who accepts
        run_threads(sample, WRITER_THREADS)
        if len({body.get("worker_pid") for _, _, body in answers}) == WORKERS:
            break
    assert [status for status, _, _ in answers] == [200] * len(answers), answers
    backends = {}  # backend pid -> the worker pids that used it
    for _, _, body in answers:
        backends.setdefault(body["backend_pid"], set()).add(body["worker_pid"])
    assert set().union(*backends.values()) == set(server.worker_pids())
    shared = {backend: workers for backend, workers in backends.items() if len(workers) > 1}
    assert not shared, f"connections shared between workers: {shared}"


def run_threads(target, count):
    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_metrics_add_up_across_workers(server):
    """Requests answered by both workers are all counted in one scrape."""
    before = backend_calls(scrape(server.port))
    answers = []

    def sample():
        answers.extend(call(server.port, "GET", "/fault/backend") for _ in range(20))

    run_threads(sample, WRITER_THREADS)
    workers = {body["worker_pid"] for _, _, body in answers}
    assert workers == set(server.worker_pids()), "the calls did not reach both workers"
    assert backend_calls(scrape(server.port)) - before == len(answers)


def test_database_crash_and_restart_loses_no_acknowledged_write(cluster, server, capsys):
    with WriteLoad(server) as load:
        load.wait_for_acknowledged(30)
        cluster.stop("immediate")
        outage = time.monotonic()
        wait_until(
            lambda: sum(w.status == 503 for w in load.writes) >= 20, 30, "no 503s while down"
        )
        ready_status, _, ready = call(server.port, "GET", "/health/ready")
        cluster.start()
        back = time.monotonic()
        load.wait_for_acknowledged(1, since=back, timeout_s=RECOVERY_BOUND_S)
        recovery_s = min(w.started + w.seconds for w in load.acknowledged_since(back)) - back
        load.wait_for_acknowledged(30, since=back)

    with capsys.disabled():  # shown in every run, not only with -s
        print(f" [recovered {recovery_s:.2f} s after the database came back]", end="")
    assert ready_status == 503 and ready["checks"]["database"] == "down"
    failed = [w for w in load.writes if not w.acknowledged]
    for write in failed:
        assert_database_unavailable_problem(write)
    # Failures only around the outage: none before it, none once writes succeed again.
    recovered = back + recovery_s
    assert all(outage - ANSWER_BOUND_S <= w.started <= recovered for w in failed)
    assert max(w.seconds for w in load.writes) < ANSWER_BOUND_S
    assert recovery_s < RECOVERY_BOUND_S
    assert_no_write_lost_or_torn(cluster, load.writes)
    pool_in_use = scrape(server.port)[("folio_db_pool_checked_out_connections", ())]
    assert pool_in_use == 0  # idle again, and the outage did not skew the count


def test_worker_killed_under_load_loses_no_acknowledged_write(cluster, server):
    with WriteLoad(server) as load:
        load.wait_for_acknowledged(30)
        victim = server.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        wait_until(
            lambda: victim not in server.worker_pids() and len(server.worker_pids()) == WORKERS,
            15,
            "gunicorn did not replace the killed worker",
        )
        load.wait_for_acknowledged(60, since=killed)

    dropped = [w for w in load.writes if w.status is None]
    others = [w for w in load.writes if w.status is not None and not w.acknowledged]
    # A sync worker holds one request at a time: at most that one goes unanswered.
    assert len(dropped) <= 1, dropped
    assert not others, others
    assert_no_write_lost_or_torn(cluster, load.writes)
