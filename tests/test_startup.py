"""How Folio starts, as operators start it: gunicorn and the flask CLI in real processes.

A configuration mistake must stop the start with one line naming the variable
(no traceback, no later 500), whichever command met it first.
"""

import http.client
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.migration_check import scratch_database
from config import BASE_DIR, MAKE_A_SECRET, PUBLISHED_SECRETS
from tests.conftest import POSTGRES_URL
from tests.servers import Gunicorn, free_port, production_env

pytestmark = pytest.mark.processes  # starts servers or other processes

FLASK_RELEASE = [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"]
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
PRODUCTION_ANNOUNCED = "folio: APP_ENV not set; running the production configuration"
SECRET_KEY_MISSING = f"Set SECRET_KEY to a random value of at least 32 bytes ({MAKE_A_SECRET})"


def run(command, env, timeout=60):
    """(exit status, every line written to stdout and stderr)."""
    result = subprocess.run(
        command, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout
    )
    return result.returncode, (result.stdout + result.stderr).strip().splitlines()


def production(tmp_path, **settings):
    own = {"DATABASE_URL": f"sqlite:///{tmp_path / 'folio.db'}", "PORT": free_port()}
    return production_env(**{**own, **settings})


@pytest.mark.parametrize("command", [FLASK_RELEASE, GUNICORN], ids=["flask", "gunicorn"])
@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("JWT_ALGORITHM", "XYZ"),
        ("JWT_ALGORITHM", "none"),
        ("RATELIMIT_DEFAULT", "lots"),
        ("DATABASE_URL", "mysql://folio:hunter2@db/folio"),
    ],
)
def test_a_configuration_mistake_stops_the_start_with_one_line(tmp_path, command, setting, value):
    status, lines = run(command, production(tmp_path, **{setting: value}))
    assert status != 0
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"folio: configuration error: {setting} must "), lines


def bare_env(**settings):
    """Only what an operator would set: no secrets, no test runner settings."""
    path = f"{Path(sys.executable).parent}:/usr/bin:/bin"  # flask and gunicorn, as installed
    return {"PATH": path, **{name: str(value) for name, value in settings.items()}}


def tables_of(database):
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}


def test_the_documented_migration_command_needs_only_the_database_url(tmp_path):
    """`docker run --rm -e DATABASE_URL=... folio flask --app wsgi db upgrade`, minus docker
    (the image sets APP_ENV=production): migrating signs and checks no token."""
    database = tmp_path / "folio.db"
    env = bare_env(APP_ENV="production", DATABASE_URL=f"sqlite:///{database}")
    status, lines = run(FLASK_RELEASE, env)
    assert status == 0, lines
    assert {"alembic_version", "users", "posts"} <= tables_of(database)


def test_serving_with_flask_run_still_needs_the_secrets(tmp_path):
    env = bare_env(APP_ENV="production", DATABASE_URL=f"sqlite:///{tmp_path / 'folio.db'}")
    command = [*FLASK_RELEASE[:-2], "run", "--port", str(free_port())]
    status, lines = run(command, env)
    assert status != 0
    assert lines == [f"folio: configuration error: {SECRET_KEY_MISSING}"]


def test_commands_that_need_no_secret_still_refuse_a_published_one(tmp_path):
    published = sorted(PUBLISHED_SECRETS)[0]
    env = bare_env(
        APP_ENV="production",
        DATABASE_URL=f"sqlite:///{tmp_path / 'folio.db'}",
        JWT_SECRET_KEY=published,
    )
    status, lines = run(FLASK_RELEASE, env)
    assert status != 0
    assert len(lines) == 1 and lines[0].startswith(
        "folio: configuration error: Set JWT_SECRET_KEY to a new random value"
    )


def procfile(process):
    lines = (BASE_DIR / "Procfile").read_text().splitlines()
    return next(line.split(":", 1)[1].strip() for line in lines if line.startswith(f"{process}:"))


def test_the_procfile_release_step_migrates_with_only_the_database_url(tmp_path):
    database = tmp_path / "folio.db"
    status, lines = run(
        ["sh", "-c", procfile("release")], bare_env(DATABASE_URL=f"sqlite:///{database}")
    )
    assert status == 0, lines
    assert "alembic_version" in tables_of(database)


def test_the_procfile_release_step_refuses_to_run_without_a_database(tmp_path):
    """Without APP_ENV it used to run the development configuration, which
    migrates a SQLite file in the checkout and reports success."""
    status, lines = run(["sh", "-c", procfile("release")], bare_env())
    assert status != 0
    assert lines == [
        "folio: configuration error: Set DATABASE_URL (e.g. postgresql://user:password@host:5432/folio)"
    ]


@pytest.mark.postgres
def test_the_procfile_release_step_takes_a_platforms_postgres_url():
    """Heroku and Dokku set DATABASE_URL=postgres://...: it crashed with NoSuchModuleError."""
    with scratch_database(make_url(POSTGRES_URL)) as url:
        platform_url = make_url(url).set(drivername="postgres").render_as_string(False)
        status, lines = run(["sh", "-c", procfile("release")], bare_env(DATABASE_URL=platform_url))
        assert status == 0, lines
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                assert (
                    connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
                )
        finally:
            engine.dispose()


def headers_of(port, path, headers):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, dict(response.getheaders())
    finally:
        connection.close()


def test_gunicorn_without_app_env_runs_production_and_refuses_without_secrets(tmp_path):
    env = bare_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'folio.db'}", HOST="127.0.0.1", PORT=free_port()
    )
    status, lines = run(GUNICORN, env)
    assert status != 0
    assert lines == [PRODUCTION_ANNOUNCED, f"folio: configuration error: {SECRET_KEY_MISSING}"]


def test_gunicorn_without_app_env_serves_the_production_configuration(tmp_path):
    env = production_env(DATABASE_URL=f"sqlite:///{tmp_path / 'folio.db'}")
    del env["APP_ENV"]
    server = Gunicorn(env, tmp_path / "gunicorn.log").start()
    try:
        # Development lets any origin call the API; production none until named.
        status, headers = headers_of(server.port, "/health", {"Origin": "https://evil.example"})
        assert status == 200
        assert "Access-Control-Allow-Origin" not in headers
        # Production trusts only TRUSTED_HOSTS (here 127.0.0.1 and localhost).
        status, headers = headers_of(server.port, "/api/v1/posts", {"Host": "evil.example"})
        assert (status, headers["Content-Type"]) == (400, "application/problem+json")
        assert "Link" not in headers
    finally:
        server.stop()
    assert (tmp_path / "gunicorn.log").read_text().splitlines().count(PRODUCTION_ANNOUNCED) == 1


def container_health_check():
    """The Dockerfile's HEALTHCHECK command, run by this test's Python."""
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    command = json.loads(re.search(r"HEALTHCHECK [^\n]*\\\n\s*CMD (\[.*\])", dockerfile)[1])
    assert command[0] == "python"
    return [sys.executable, *command[1:]]


def test_the_container_health_check_names_a_trusted_host(tmp_path):
    """In a container Folio trusts its public name, not 127.0.0.1, where the check calls."""
    env = production_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'folio.db'}", TRUSTED_HOSTS=".example.org"
    )
    server = Gunicorn(env, tmp_path / "gunicorn.log", host="example.org").start()
    try:
        assert headers_of(server.port, "/health", {})[0] == 400  # Host: 127.0.0.1
        status, lines = run(container_health_check(), {**env, "PORT": str(server.port)})
        assert status == 0, lines
    finally:
        server.stop()


def test_the_migration_check_needs_only_the_database_url_too(tmp_path):
    env = bare_env(APP_ENV="production", DATABASE_URL=f"sqlite:///{tmp_path / 'folio.db'}")
    status, lines = run([*FLASK_RELEASE[:-1], "check"], env)
    assert status == 0, lines
