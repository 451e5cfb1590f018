"""A real Folio on a free port, and the node tools that drive it from outside.

The browser test (tests/test_docs_browser.py) and the RealWorld collection
(tests/test_realworld_collection.py) both talk HTTP to a real server: the
dev server on a fresh SQLite database made by `flask db upgrade`, in the
development configuration, with no Redis to depend on. Their node packages
are installed with `npm ci` from the lock file beside them.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager

import pytest

from config import BASE_DIR

IN_CI = os.environ.get("CI", "").lower() == "true"


def require_tools(tools, hint):
    """Skip (locally) or fail (CI=true) when one of `tools` is missing."""
    missing = [tool for tool in tools if shutil.which(tool) is None and not os.path.exists(tool)]
    if not missing:
        return
    reason = f"needs {', '.join(missing)} ({hint})"
    if IN_CI:
        pytest.fail(f"CI=true: this test is required, but it {reason}")
    pytest.skip(reason)


def npm_ci(directory, package):
    """`npm ci` in `directory` unless node_modules already holds the locked `package`."""
    lock = json.loads((directory / "package-lock.json").read_text())
    wanted = lock["packages"][f"node_modules/{package}"]["version"]
    installed = directory / "node_modules" / package / "package.json"
    if installed.exists() and json.loads(installed.read_text())["version"] == wanted:
        return
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"],
        cwd=directory,
        check=True,
        capture_output=True,
        timeout=300,
    )


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_environment(database, **settings):
    """The development configuration on its own database, with no Redis to depend on."""
    env = {k: v for k, v in os.environ.items() if k not in {"TEST_DATABASE_URL", "FLASK_DEBUG"}}
    own = {"APP_ENV": "development", "DATABASE_URL": f"sqlite:///{database}", "REDIS_URL": ""}
    return {**env, **own, **settings}


def flask(*args):
    return [sys.executable, "-m", "flask", "--app", "wsgi", *args]


def wait_until_serving(url, server, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the Folio server exited with status {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"the Folio server did not answer at {url} within {timeout} s")


@contextmanager
def folio_server(tmp_path, **settings):
    """Serve a fresh Folio until the block ends; yields its URL. `settings` are env vars."""
    env = server_environment(tmp_path / "folio.db", **settings)
    subprocess.run(flask("db", "upgrade"), cwd=BASE_DIR, env=env, check=True, capture_output=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(tmp_path / "server.log", "wb") as log:
        server = subprocess.Popen(
            flask("run", "--host", "127.0.0.1", "--port", str(port), "--no-reload"),
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_serving(url, server)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=10)
