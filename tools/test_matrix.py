"""Run the suite on SQLite, then on PostgreSQL (with Redis) when they answer.

Locally a missing PostgreSQL or Redis skips that run with a note. With
CI=true they are required: a missing service fails the run instead of hiding
a whole database's worth of tests.
"""

import os
import socket
import subprocess
import sys

from sqlalchemy.engine import make_url


def answers(url, default_port):
    """True when something accepts TCP connections at the URL's host and port."""
    parsed = make_url(url)
    try:
        with socket.create_connection((parsed.host or "127.0.0.1", parsed.port or default_port), 2):
            return True
    except OSError:
        return False


def missing_database(url):
    """One line saying how to make the test database when PostgreSQL answers without
    it (else None): pytest would otherwise print a traceback for every test."""
    import psycopg

    parsed = make_url(url)
    try:
        psycopg.connect(
            parsed.set(drivername="postgresql").render_as_string(hide_password=False),
            connect_timeout=3,
        ).close()
    except psycopg.OperationalError as error:
        if "does not exist" not in str(error):
            return f"PostgreSQL at {parsed.host}:{parsed.port or 5432} refused: {error}".strip()
        return (
            f"PostgreSQL answers, but database {parsed.database!r} does not exist: "
            f"createdb -h {parsed.host or '127.0.0.1'} -p {parsed.port or 5432} "
            f"-U {parsed.username or 'postgres'} {parsed.database}"
        )
    return None


def run_pytest(label, env, args):
    print(f"\n===== {label} =====", flush=True)
    return subprocess.call([sys.executable, "-m", "pytest", *args], env=env)


def main(args):
    in_ci = os.environ.get("CI", "").lower() == "true"
    base = {k: v for k, v in os.environ.items() if k not in {"TEST_DATABASE_URL", "REDIS_URL"}}

    if status := run_pytest("SQLite, no Redis", base, args):
        return status

    pg_url, redis_url = os.environ.get("TEST_DATABASE_URL"), os.environ.get("REDIS_URL")
    missing = []
    if not pg_url or not answers(pg_url, 5432):
        missing.append(f"PostgreSQL (TEST_DATABASE_URL={pg_url or 'unset'})")
    if redis_url and not answers(redis_url, 6379):
        missing.append(f"Redis (REDIS_URL={redis_url})")
    if in_ci and not redis_url:
        missing.append("Redis (REDIS_URL unset)")
    if not missing and (problem := missing_database(pg_url)):
        print(f"\n{problem}", flush=True)
        return 1
    if missing:
        print(f"\nNot answering: {', '.join(missing)}.", flush=True)
        if in_ci:
            print("CI=true: these services are required; failing.", flush=True)
            return 1
        print("Skipping the PostgreSQL run (set TEST_DATABASE_URL to include it).", flush=True)
        return 0

    env = {**base, "TEST_DATABASE_URL": pg_url, **({"REDIS_URL": redis_url} if redis_url else {})}
    return run_pytest("PostgreSQL" + (" and Redis" if redis_url else ""), env, args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
