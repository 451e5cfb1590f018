"""`make cluster`: deploy/cluster.py makes a streaming replica and balances two instances.

The primary is a throwaway PostgreSQL server made here (initdb in a temporary
directory, on a free port, as the postgres OS user when the tests run as
root): a base backup of it takes seconds, and initdb's pg_hba.conf accepts
replication from 127.0.0.1, which a shared server's may not. The script runs
as `make cluster` does, with each server's output in its own log file, so the
instances' access lines tell which one answered. With it:

- the replica streams: a row written on the primary appears on the replica,
  whose replayed WAL position advances, and the primary lists it as a
  streaming standby;
- the main flows (register, sign in, post, comment, list, feed) pass through
  nginx, and both instances answer some of them;
- SIGKILL of one instance (its master and workers) under a load of reads and
  keyed writes loses no acknowledged write and fails no read (nginx passes a
  failed read to the other instance); a write may fail (502), but nginx never
  passes it on, so none is applied twice, and its client's retry with the
  same Idempotency-Key creates it exactly once.

Runs in the PostgreSQL pass of `make test` (TEST_DATABASE_URL set) only: it
brings its own server, so a second run would add time and no coverage. It
needs nginx and PostgreSQL's server binaries; CI installs both.
"""

import os
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from config import BASE_DIR
from tests.replication import connect, postgres_bin, throwaway_primary
from tests.servers import (
    call,
    free_port,
    production_env,
    require_tools,
    serve_script,
    wait_until,
)

pytestmark = pytest.mark.processes  # starts servers or other processes

SCRIPT = BASE_DIR / "deploy" / "cluster.py"
START_TIMEOUT_S = 180  # a base backup and four servers on a busy machine
REPLAY_TIMEOUT_S = 30


@pytest.fixture(scope="module", autouse=True)
def cluster_environment():
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("runs in the PostgreSQL pass of make test (TEST_DATABASE_URL)")
    bin_dir = postgres_bin() or Path("/usr/lib/postgresql/VERSION/bin")
    tools = [str(bin_dir / name) for name in ("initdb", "postgres", "pg_basebackup")]
    require_tools(
        [*tools, serve_script().find_nginx() or "nginx"], "Debian packages postgresql, nginx"
    )


@pytest.fixture(scope="module")
def primary():
    """A throwaway PostgreSQL server with a `folio` database; yields its port."""
    with throwaway_primary() as port:
        yield port


class Cluster:
    """deploy/cluster.py on a free port, each server logging to logs/NAME.log."""

    def __init__(self, primary_port, scratch):
        """primary_port None: no DATABASE_URL, so the script makes its own primary."""
        self.port = free_port()
        self.logs = scratch / "logs"
        self.output = scratch / "cluster.log"
        primary = f"postgresql+psycopg://postgres@127.0.0.1:{primary_port}/folio"
        self.env = production_env(
            PORT=self.port,
            LOG_LEVEL="INFO",  # the instances' access lines
            WEB_CONCURRENCY=2,
            RATELIMIT_DEFAULT="1000000/minute",  # the load is the point, not the limit
        )
        self.env.pop("DATABASE_URL", None)
        if primary_port is not None:
            self.env["DATABASE_URL"] = primary
        self.process = None

    def start(self):
        with open(self.output, "w") as output:
            self.process = subprocess.Popen(
                [sys.executable, str(SCRIPT), "--log-dir", str(self.logs)],
                cwd=BASE_DIR,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_until(
                self.answers, START_TIMEOUT_S, f"the cluster did not start; see {self.output}"
            )
        except BaseException:
            self.stop()
            raise
        return self

    def answers(self):
        assert self.process.poll() is None, f"deploy/cluster.py exited; see {self.output}"
        try:
            return call(self.port, "GET", "/health", timeout=2)[0] == 200
        except OSError:
            return False

    @property
    def replica_port(self):
        [line] = [
            line
            for line in self.output.read_text().splitlines()
            if line.startswith("DATABASE_REPLICA_URLS=")
        ]
        return int(line.rsplit(":", 1)[1].split("/")[0])

    def served_by(self, name):
        """How many requests the instance `name` (gunicorn-1, ...) logged answering."""
        lines = (self.logs / f"{name}.log").read_text().splitlines()
        return sum(1 for line in lines if line.startswith("{") and '"folio.access"' in line)

    def instance_pid(self, name):
        """The gunicorn master serving gunicorn-N.sock, a child of the script."""
        pid = self.process.pid
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            if f"{name}.sock".encode() in Path(f"/proc/{child}/cmdline").read_bytes():
                return int(child)
        raise LookupError(name)

    def directory(self):
        """The script's temporary directory: "nginx: master process nginx -p <directory> ..."."""
        pid = self.process.pid
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            words = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").split()
            if b"-p" in words:
                return Path(words[words.index(b"-p") + 1].decode())
        raise LookupError("nginx")

    def call(self, method, path, body=None, headers=None):
        return call(self.port, method, path, body, headers)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


@pytest.fixture(scope="module")
def cluster(primary, tmp_path_factory):
    cluster = Cluster(primary, tmp_path_factory.mktemp("cluster")).start()
    yield cluster
    assert cluster.stop() == 0


def sign_up(cluster, name):
    """Bearer headers of a new author."""
    account = {"username": name, "email": f"{name}@example.com", "password": f"{name} password"}
    assert cluster.call("POST", "/auth/register", account)[0] == 201
    status, _, pair = cluster.call(
        "POST", "/auth/login", {"login": name, "password": account["password"]}
    )
    assert status == 200, pair
    return {"Authorization": f"Bearer {pair['access_token']}"}


def replayed(port):
    with connect(port) as connection:
        return connection.execute("SELECT pg_last_wal_replay_lsn()").fetchone()[0]


def test_the_replica_streams_what_the_primary_writes(primary, cluster):
    replica = cluster.replica_port
    before = replayed(replica)
    marker = uuid.uuid4().hex
    with connect(primary) as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS replication_probe (marker text)")
        connection.execute("INSERT INTO replication_probe VALUES (%s)", (marker,))
        [standby] = connection.execute(
            "SELECT state FROM pg_stat_replication WHERE client_addr = '127.0.0.1'"
        ).fetchall()
    assert standby == ("streaming",)

    def arrived():
        with connect(replica) as connection:
            found = connection.execute(
                "SELECT to_regclass('replication_probe') IS NOT NULL"
                " AND EXISTS (SELECT FROM replication_probe WHERE marker = %s)",
                (marker,),
            )
            return found.fetchone()[0]

    wait_until(arrived, REPLAY_TIMEOUT_S, "the row never reached the replica")
    with connect(replica) as connection:
        lsn_advanced = connection.execute(
            "SELECT pg_last_wal_replay_lsn() > %s::pg_lsn", (before,)
        ).fetchone()[0]
    assert lsn_advanced
    with connect(replica, "folio") as connection:  # Folio's migrations came over too
        assert connection.execute("SELECT count(*) FROM alembic_version").fetchone()[0] == 1


def test_the_main_flows_pass_through_the_balancer_and_both_instances_serve(cluster):
    alice, bob = sign_up(cluster, "alice"), sign_up(cluster, "bob")
    post = {"title": "Through nginx", "body": "Balanced.", "status": "published"}
    status, _, created = cluster.call("POST", "/api/v1/posts", post, alice)
    assert status == 201, created
    path = f"/api/v1/posts/{created['id']}"
    status, _, comment = cluster.call("POST", f"{path}/comments", {"body": "Seen."}, bob)
    assert status == 201, comment
    assert cluster.call("POST", "/api/v1/users/alice/follow", None, bob)[0] == 200
    for _ in range(3):  # each read more than once: round robin sends them to both
        assert cluster.call("GET", path)[2]["title"] == "Through nginx"
        assert cluster.call("GET", f"{path}/comments")[2]["items"][0]["body"] == "Seen."
        listed = cluster.call("GET", "/api/v1/posts")[2]["items"]
        assert [item["id"] for item in listed] == [created["id"]]
        feed = cluster.call("GET", "/api/v1/feed", headers=bob)[2]["items"]
        assert [item["id"] for item in feed] == [created["id"]]
    assert cluster.served_by("gunicorn-1") > 0
    assert cluster.served_by("gunicorn-2") > 0


def test_the_instances_read_from_the_replica_they_were_told_of(cluster):
    """Each instance's environment names the replica, and its readiness reports it."""
    url = next(
        line.split("=", 1)[1]
        for line in cluster.output.read_text().splitlines()
        if line.startswith("DATABASE_REPLICA_URLS=")
    )
    pid = cluster.instance_pid("gunicorn-2")
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert f"DATABASE_REPLICA_URLS={url}".encode() in environ
    status, _, ready = cluster.call("GET", "/health/ready")
    assert status == 200, ready
    assert ready["replicas"] == {f"127.0.0.1:{cluster.replica_port}/folio": "ok"}


class Load:
    """Threads of reads and keyed writes through nginx until stopped; what each got."""

    def __init__(self, cluster, author, readers=3, writers=2):
        self.cluster, self.author = cluster, author
        self.reads, self.writes = [], []  # (path, status or the error), (key, status, body)
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.read) for _ in range(readers)]
        self.threads += [threading.Thread(target=self.write) for _ in range(writers)]

    def read(self):
        paths = ["/api/v1/posts", "/health", "/api/v1/posts?page=2"]
        while not self.stopping.is_set():
            path = paths[len(self.reads) % len(paths)]
            try:
                self.reads.append((path, self.cluster.call("GET", path)[0]))
            except OSError as error:
                self.reads.append((path, repr(error)))

    def write(self):
        while not self.stopping.is_set():
            key = uuid.uuid4().hex
            try:
                status, _, body = self.cluster.call(
                    "POST", "/api/v1/posts", *keyed_post(key, self.author)
                )
            except OSError as error:
                status, body = None, repr(error)
            self.writes.append((key, status, body))

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for thread in self.threads:
            thread.join(60)

    def wait_for(self, reads, writes, timeout_s=60):
        wait_until(
            lambda: len(self.reads) >= reads and len(self.writes) >= writes,
            timeout_s,
            "the load made too little progress",
        )


def keyed_post(key, author):
    post = {"title": f"load {key}", "body": "x", "status": "published"}
    return post, {**author, "Idempotency-Key": key}


def posts_titled(primary, key):
    with connect(primary, "folio") as connection:
        query = "SELECT count(*) FROM posts WHERE title = %s"
        return connection.execute(query, (f"load {key}",)).fetchone()[0]


def test_killing_an_instance_under_load_loses_no_write_and_fails_no_read(primary, cluster):
    author = sign_up(cluster, "loader")
    with Load(cluster, author) as load:
        load.wait_for(reads=30, writes=10)
        victim = cluster.instance_pid("gunicorn-1")
        os.killpg(victim, signal.SIGKILL)  # the instance: its master and its workers
        killed_at = (len(load.reads), len(load.writes))
        load.wait_for(reads=killed_at[0] + 60, writes=killed_at[1] + 20)

    failed_reads = [read for read in load.reads if read[1] != 200]
    assert not failed_reads, failed_reads
    acknowledged = [(key, body) for key, status, body in load.writes if status == 201]
    failed = [(key, status, body) for key, status, body in load.writes if status != 201]
    for _, body in acknowledged:
        assert cluster.call("GET", f"/api/v1/posts/{body['id']}")[0] == 200
    assert all(status == 502 for _, status, _ in failed), failed  # nginx's, never Folio's 5xx
    # Never passed on to the other instance: applied once at most, then exactly once
    # after the client's own retry with the same key.
    for key, _, _ in failed:
        assert posts_titled(primary, key) <= 1
        status, _, body = cluster.call("POST", "/api/v1/posts", *keyed_post(key, author))
        assert status == 201, body
        assert posts_titled(primary, key) == 1
    assert cluster.process.poll() is None  # the other instance still serves
    assert "gunicorn-1 exited" in cluster.output.read_text()
    print(
        f"\n[{len(load.reads)} reads, none failed; {len(acknowledged)} writes acknowledged, "
        f"{len(failed)} failed with 502 and were applied once after a keyed retry]"
    )


def test_stopping_the_cluster_stops_every_server(primary, tmp_path):
    """Its own cluster: SIGTERM stops nginx, the instances and the replica, and the
    primary no longer lists its standby."""
    before = standbys(primary)
    cluster = Cluster(primary, tmp_path).start()
    assert standbys(primary) == before + 1
    children = Path(f"/proc/{cluster.process.pid}/task/{cluster.process.pid}/children")
    pids = [int(pid) for pid in children.read_text().split()]
    assert len(pids) == 4  # replica, two instances, nginx
    assert cluster.stop() == 0
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()]
    wait_until(lambda: standbys(primary) == before, 30, "the primary still lists the standby")


def test_killing_the_script_still_stops_every_server(primary, tmp_path):
    """SIGKILL leaves no cleanup to the script: the kernel tells its servers,
    the replica (run as another user) included."""
    cluster = Cluster(primary, tmp_path).start()
    children = Path(f"/proc/{cluster.process.pid}/task/{cluster.process.pid}/children")
    pids = [int(pid) for pid in children.read_text().split()]
    try:
        directory = cluster.directory()
        cluster.process.kill()
        cluster.process.wait()
        wait_until(
            lambda: not [pid for pid in pids if alive(pid)], 60, "a server outlived the script"
        )
    finally:
        for pid in pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(directory)  # the one thing a killed script cannot clean up


def alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def standbys(port):
    with connect(port) as connection:
        return connection.execute("SELECT count(*) FROM pg_stat_replication").fetchone()[0]


def test_without_database_url_the_script_makes_its_own_primary(tmp_path):
    """`make cluster` from a fresh clone: no DATABASE_URL, so the script makes a
    throwaway primary too; writes pass through nginx to it, reads come back,
    and SIGTERM stops every server, the primary last, and removes the directory."""
    cluster = Cluster(None, tmp_path).start()
    children = Path(f"/proc/{cluster.process.pid}/task/{cluster.process.pid}/children")
    pids = [int(pid) for pid in children.read_text().split()]
    try:
        assert len(pids) == 5  # own primary, replica, two instances, nginx
        directory = cluster.directory()
        status, _, ready = cluster.call("GET", "/health/ready")
        assert status == 200, ready
        assert ready["replicas"] == {f"127.0.0.1:{cluster.replica_port}/folio": "ok"}
        sign_up(cluster, "fresh")  # a write through the balancer, then a read of it
        assert cluster.call("GET", "/api/v1/users/fresh")[2]["username"] == "fresh"
    finally:
        assert cluster.stop() == 0
    assert not [pid for pid in pids if alive(pid)]
    assert not directory.exists()
    assert (cluster.logs / "primary.log").read_text()
