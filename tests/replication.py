"""Throwaway PostgreSQL servers for the replication tests: a primary made with
initdb, and streaming replicas of it made as deploy/cluster.py makes its own.

The machine's shared server has no replication line in pg_hba.conf, and a base
backup of it would copy every test database: a primary of our own is made in
seconds (deploy/cluster.py's own_primary, the one `make cluster` makes without
DATABASE_URL), and initdb's pg_hba.conf accepts replication from 127.0.0.1. Run
by root, the servers run as the postgres OS user (PostgreSQL refuses root).
"""

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from config import BASE_DIR
from tests.servers import free_port, require_tools, wait_until

REPLICA_START_TIMEOUT_S = 120


def postgres_bin():
    return cluster_script().newest_postgres_bin()


def connect(port, database="postgres"):
    return psycopg.connect(
        host="127.0.0.1", port=port, user="postgres", dbname=database, autocommit=True
    )


def server_user():
    return "postgres" if os.geteuid() == 0 else None


def scratch_directory(prefix):
    """Not under pytest's tmp_path: its parent is closed to the postgres user."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    if server_user():
        shutil.chown(root, server_user(), server_user())
    return root


def stop_server(server):
    if server.poll() is None:
        server.send_signal(signal.SIGINT)  # fast shutdown
    server.wait(60)


@contextlib.contextmanager
def throwaway_primary():
    """A PostgreSQL server of our own with a `folio` database, made as `make
    cluster` makes one without DATABASE_URL; yields its port."""
    with cluster_script().own_primary() as url:
        yield url.port


def cluster_script():
    """deploy/cluster.py as a module (it imports deploy/serve.py as `serve`)."""
    deploy = str(BASE_DIR / "deploy")
    sys.path.insert(0, deploy)
    try:
        spec = importlib.util.spec_from_file_location("folio_cluster", f"{deploy}/cluster.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(deploy)


class StreamingReplica:
    """A hot standby of the primary on `primary_port`, made with pg_basebackup -R."""

    def __init__(self, primary_port):
        self.cluster = cluster_script()
        self.primary_url = make_url(f"postgresql+psycopg://postgres@127.0.0.1:{primary_port}/folio")
        self.root = scratch_directory("folio-test-replica-")
        self.port = free_port()
        self.server = None

    @property
    def url(self):
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/folio"

    def start(self):
        major, minimums = self.cluster.primary_facts(self.primary_url)
        bin_dir, user = self.cluster.postgres_bin(major), server_user()
        data_dir = self.root / "replica"
        self.cluster.base_backup(self.primary_url, bin_dir, data_dir, user)
        self.cluster.write_replica_config(data_dir, self.port, self.root, minimums)
        with open(self.root / "replica.log", "w") as log:
            self.server = subprocess.Popen(
                [str(bin_dir / "postgres"), "-D", str(data_dir)],
                user=user,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(self.in_recovery, REPLICA_START_TIMEOUT_S, f"no replica; see {self.root}")
        return self

    def in_recovery(self):
        try:
            with connect(self.port) as connection:
                return connection.execute("SELECT pg_is_in_recovery()").fetchone()[0]
        except psycopg.OperationalError:
            return False

    def execute(self, sql):
        with connect(self.port) as connection:
            return connection.execute(sql).fetchone()

    def stop(self):
        if self.server is not None:
            stop_server(self.server)

    def remove(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def require_postgres_binaries():
    """Skip (locally) or fail (CI) without PostgreSQL's server binaries."""
    bin_dir = postgres_bin() or Path("/usr/lib/postgresql/VERSION/bin")
    tools = [str(bin_dir / name) for name in ("initdb", "postgres", "pg_basebackup")]
    require_tools(tools, "Debian package postgresql")
