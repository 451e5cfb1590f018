"""A local cluster, in the foreground: a streaming PostgreSQL replica, two Folio
instances, and nginx balancing them.

`make cluster` runs this with the project's virtualenv, for trying several
instances and replica reads on one machine (the tests start it too). It reads
the environment as deploy/serve.py does; DATABASE_URL names the primary, a
PostgreSQL server on this host whose binaries are installed (Debian's, under
/usr/lib/postgresql/MAJOR/bin, matching the server's major version).

Without DATABASE_URL (or with --own-primary), it first makes a throwaway
primary of its own: initdb into the temporary directory, started on a free
port (PRIMARY_PORT) with replication allowed from 127.0.0.1, and a `folio`
database; it is stopped last and goes with the directory. That needs only
PostgreSQL's server binaries (the newest under /usr/lib/postgresql, else
PATH's), no server to configure. The tests make their primaries with it too.
Then:

1. takes a base backup of the primary (`pg_basebackup -R`: it also writes the
   settings that make the copy follow the primary) into a temporary directory;
   the primary must accept replication connections from 127.0.0.1
   (pg_hba.conf), and this script says what to add when it does not;
2. starts the copy as a hot standby on 127.0.0.1:REPLICA_PORT (a free port by
   default) and waits until it answers queries; run by root, it runs as the
   postgres OS user (PostgreSQL refuses to run as root);
3. prints `DATABASE_REPLICA_URLS=...`, the replica's URL, and passes it to the
   instances;
4. runs `flask db upgrade` on the primary and starts SERVE_INSTANCES (2)
   gunicorn instances and nginx on 127.0.0.1:PORT (8080) in front of them, as
   deploy/serve.py does.

With --log-dir DIR, each server writes to DIR/NAME.log (gunicorn-1, gunicorn-2,
nginx, replica), the way to tell the instances apart; by default they all
write here. Ctrl-C or SIGTERM stops nginx and the instances gracefully, then
the replica, then an own primary, and removes the directory; when nginx, the last instance or the
replica exits, the rest are stopped. Killed outright (SIGKILL), Linux stops
every server; the temporary directory (folio-cluster-*) is then left behind.

The replica uses no replication slot: a slot left behind by a killed script
would keep WAL on the primary forever. Without one, a replica that falls far
behind (more than the primary's wal_keep_size) must be made again.
"""

import argparse
import contextlib
import functools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import serve  # deploy/serve.py, beside this script: the same shape, and its pieces
from sqlalchemy.engine import make_url

REPLICATION_HBA_LINE = "host replication all 127.0.0.1/32 trust"
REPLICA_START_TIMEOUT_S = 120
# A hot standby refuses to start when one of these is lower than the primary's.
HOT_STANDBY_MINIMUMS = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)
# Fast shutdown: clients are disconnected, which the stopped instances already are.
POSTGRES_STOP = signal.SIGINT


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--log-dir", type=Path, help="write each server's output to DIR/NAME.log")
    parser.add_argument(
        "--own-primary",
        action="store_true",
        help="make a throwaway primary even when DATABASE_URL is set (the default without it)",
    )
    return parser.parse_args(argv)


def primary_url(environ):
    """DATABASE_URL, which must name a PostgreSQL server."""
    url = make_url(environ["DATABASE_URL"])
    if url.get_backend_name() != "postgresql":
        raise SystemExit("cluster: DATABASE_URL must name the PostgreSQL primary")
    return url


def libpq(url):
    """The URL as libpq (psycopg, pg_basebackup) reads it."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def primary_facts(url):
    """The primary's major version and the settings a hot standby may not go below."""
    try:
        with psycopg.connect(libpq(url), autocommit=True, connect_timeout=10) as connection:
            version = int(connection.execute("SHOW server_version_num").fetchone()[0])
            settings = {
                name: connection.execute(f"SHOW {name}").fetchone()[0]
                for name in HOT_STANDBY_MINIMUMS
            }
    except psycopg.OperationalError as error:
        raise SystemExit(f"cluster: the primary in DATABASE_URL does not answer: {error}") from None
    return version // 10000, settings


def postgres_bin(major):
    """Debian's binaries for this major version, else those on PATH."""
    debian = Path(f"/usr/lib/postgresql/{major}/bin")
    if (debian / "postgres").exists():
        return debian
    found = shutil.which("postgres")
    if found is None:
        raise SystemExit(
            f"cluster: PostgreSQL {major}'s server binaries are not installed; "
            f"install them with: sudo apt-get install postgresql-{major}"
        )
    return Path(found).parent


def newest_postgres_bin():
    """The newest Debian server binaries, else those on PATH; None without initdb."""
    debian = Path("/usr/lib/postgresql").glob("*/bin/initdb")
    newest = max(debian, key=lambda initdb: float(initdb.parent.parent.name), default=None)
    found = newest or (Path(which) if (which := shutil.which("initdb")) else None)
    return found.parent if found else None


def server_user():
    """Who runs the replica: this user, or `postgres` when this is root (the
    server refuses root)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres").pw_name
    except KeyError:
        raise SystemExit("cluster: run by root, the replica needs a postgres OS user") from None


def base_backup(url, bin_dir, data_dir, user):
    """pg_basebackup -R into `data_dir`; SystemExit with the fix when pg_hba.conf refuses."""
    command = [
        str(bin_dir / "pg_basebackup"),
        *("--pgdata", str(data_dir), "--write-recovery-conf", "--wal-method=stream"),
        *("--checkpoint=fast", "--no-sync", "--dbname", libpq(url.set(database=None))),
    ]
    done = subprocess.run(command, user=user, capture_output=True, text=True)
    if done.returncode == 0:
        return
    sys.stderr.write(done.stderr)
    if "pg_hba.conf" in done.stderr:
        raise SystemExit(
            "cluster: the primary refuses replication connections from 127.0.0.1. Add this line "
            f"to its pg_hba.conf (`SHOW hba_file`), then `SELECT pg_reload_conf()`:\n"
            f"    {REPLICATION_HBA_LINE}\n"
            "(or scram-sha-256 in place of trust, with the password in DATABASE_URL)"
        )
    raise SystemExit(f"cluster: pg_basebackup failed ({done.returncode})")


def write_replica_config(data_dir, port, socket_dir, minimums):
    """Debian keeps postgresql.conf and pg_hba.conf in /etc, so the copy has none:
    a standby's own, on loopback only. pg_basebackup -R wrote primary_conninfo
    into postgresql.auto.conf, which PostgreSQL reads after this file."""
    settings = {
        "listen_addresses": "'127.0.0.1'",
        "port": str(port),
        "unix_socket_directories": f"'{socket_dir}'",
        "hot_standby": "on",
        "shared_buffers": "'32MB'",
        "fsync": "off",  # a copy made for trying things: a crash only means making another
        **minimums,
    }
    lines = [f"{name} = {value}" for name, value in settings.items()]
    (data_dir / "postgresql.conf").write_text("\n".join(lines) + "\n")
    (data_dir / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")


def wait_for_server(name, url, process, ready_query="SELECT true"):
    """Until the server answers `ready_query` with true; SystemExit if it exits or never does."""
    deadline = time.monotonic() + REPLICA_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"cluster: the {name} exited ({process.returncode})")
        try:
            with psycopg.connect(libpq(url), connect_timeout=2) as connection:
                if connection.execute(ready_query).fetchone()[0]:
                    return
        except psycopg.OperationalError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"cluster: the {name} did not answer within {REPLICA_START_TIMEOUT_S} s")


def start_own_primary(directory, stdout=None):
    """A throwaway primary in `directory`/primary with a `folio` database: its
    process and URL. initdb --auth=trust writes a pg_hba.conf that also accepts
    replication from 127.0.0.1; the server listens there only."""
    bin_dir, user = newest_postgres_bin(), server_user()
    if bin_dir is None:
        raise SystemExit(
            "cluster: without DATABASE_URL, PostgreSQL's server binaries (initdb) are needed; "
            "install them with: sudo apt-get install postgresql"
        )
    if user:
        shutil.chown(directory, user, user)  # initdb and the server write in it as `user`
    data_dir = directory / "primary"
    initdb = [str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "postgres"]
    subprocess.run(
        [*initdb, "--auth=trust", "--no-sync"], user=user, check=True, capture_output=True
    )
    port = int(serve.whole_number(os.environ, "PRIMARY_PORT", str(free_port())))
    command = [
        *(str(bin_dir / "postgres"), "-D", str(data_dir), "-p", str(port)),
        *("-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={directory}"),
        *("-c", "fsync=off"),  # throwaway: a crash only means making another
    ]
    process = serve.start(command, user=user, stdout=stdout, stderr=stdout)
    url = make_url(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres")
    try:
        wait_for_server("primary", url, process)
        with psycopg.connect(libpq(url), autocommit=True) as connection:
            connection.execute("CREATE DATABASE folio")
    except BaseException:
        stop_postgres(process)
        raise
    return process, url.set(database="folio")


def stop_postgres(process):
    if process.poll() is None:
        process.send_signal(POSTGRES_STOP)
    process.wait(60)


@contextlib.contextmanager
def own_primary():
    """start_own_primary in a temporary directory of its own, logging to its
    primary.log, for the tests; yields the URL."""
    directory = Path(tempfile.mkdtemp(prefix="folio-primary-"))
    try:
        with open(directory / "primary.log", "w") as log:
            process, url = start_own_primary(directory, log)
        try:
            yield url
        finally:
            stop_postgres(process)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def start_replica(url, directory, output, servers):
    """A base backup of the primary, started as a hot standby into `servers`; its URL."""
    major, minimums = primary_facts(url)
    bin_dir, user = postgres_bin(major), server_user()
    if user:
        shutil.chown(directory, user, user)  # pg_basebackup writes in it as `user`
    data_dir = directory / "replica"
    base_backup(url, bin_dir, data_dir, user)
    port = int(serve.whole_number(os.environ, "REPLICA_PORT", str(free_port())))
    write_replica_config(data_dir, port, directory, minimums)
    stdout = output("replica") if output else None
    command = [str(bin_dir / "postgres"), "-D", str(data_dir)]
    process = serve.start(command, user=user, stdout=stdout, stderr=stdout)
    servers.append(serve.Server("replica", process, POSTGRES_STOP))
    replica_url = url.set(host="127.0.0.1", port=port)
    wait_for_server("replica", replica_url, process, "SELECT pg_is_in_recovery()")
    return replica_url


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cluster(nginx, directory, output=None, own=False):
    env = serve.app_environment(os.environ)
    own = own or not env.get("DATABASE_URL")
    url = None if own else primary_url(env)
    count = serve.instance_count(env, default=2)
    sockets = serve.instance_sockets(directory, count)
    settings = serve.nginx_settings(env, [f"unix:{path}" for path in sockets])
    nginx_run = serve.checked_nginx(nginx, directory, settings)

    # Stopped in this order: nothing may lose its database mid-request.
    front, back, primary = [], [], []
    try:
        if own:
            process, url = start_own_primary(directory, output("primary") if output else None)
            primary.append(serve.Server("primary", process, POSTGRES_STOP))
            env["DATABASE_URL"] = url.render_as_string(hide_password=False)
            print(f"DATABASE_URL={env['DATABASE_URL']}", flush=True)
        replica_url = start_replica(url, directory, output, back)
        replica_urls = replica_url.render_as_string(hide_password=False)
        print(f"DATABASE_REPLICA_URLS={replica_urls}", flush=True)
        env["DATABASE_REPLICA_URLS"] = replica_urls
        if status := serve.migrate(env):
            return status
        if serve.start_balanced(env, directory, nginx_run, count, front, output):
            print(
                f"cluster: Folio at http://{settings['NGINX_LISTEN']} (nginx in front of "
                f"{count} gunicorn instances), primary {url.host}:{url.port or 5432}, "
                f"replica 127.0.0.1:{replica_url.port}; Ctrl-C stops them all",
                file=sys.stderr,
                flush=True,
            )
        return serve.watch([*front, *back, *primary])
    finally:
        serve.stop(front)
        serve.stop(back)
        serve.stop(primary)


def main(argv=None):
    arguments = parse_arguments(argv)
    with contextlib.ExitStack() as files:
        output = None
        if arguments.log_dir:
            arguments.log_dir.mkdir(parents=True, exist_ok=True)

            def output(name):
                return files.enter_context(open(arguments.log_dir / f"{name}.log", "w"))

        return serve.run_in_foreground(
            "folio-cluster-", functools.partial(cluster, output=output, own=arguments.own_primary)
        )


if __name__ == "__main__":
    sys.exit(main())
