"""How Folio starts, as operators start it: gunicorn and the flask CLI in real processes.

A configuration mistake must stop the start with one line naming the variable
(no traceback, no later 500), whichever command met it first.
"""

import subprocess
import sys

import pytest

from config import BASE_DIR
from tests.servers import free_port, production_env

FLASK_RELEASE = [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"]
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]


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
