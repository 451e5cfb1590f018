"""Real Folio servers for tests that cross process boundaries, and their tools.

- `Gunicorn`: Folio as in production (gunicorn.conf.py), for the fault,
  rate-limit and multi-process tests.
- `folio_server`: the dev server on a fresh SQLite database made by
  `flask db upgrade`, for the browser test and the RealWorld collection,
  whose node packages are installed with `npm ci` from the lock file beside them.
"""

import http.client
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from config import BASE_DIR


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(port, method, path, body=None, headers=None, timeout=30):
    """(status, content type, parsed body or text); raises OSError when no answer came."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        payload = json.dumps(body) if body is not None else None
        sent_headers = {"Content-Type": "application/json"} if payload else {}
        connection.request(method, path, body=payload, headers={**sent_headers, **(headers or {})})
        response = connection.getresponse()
        raw = response.read().decode()
        content_type = response.getheader("Content-Type", "")
        parsed = json.loads(raw) if raw and "json" in content_type else raw
        return response.status, content_type, parsed
    finally:
        connection.close()


def exchange(port, raw, source="127.0.0.1", timeout=10):
    """Send raw bytes from `source`; (status, headers, body), read until the server closes.

    For what http.client will not send: garbled or oversized request lines and
    headers, a chunked body, another loopback source address.
    """
    with socket.create_connection(("127.0.0.1", port), timeout, (source, 0)) as sock:
        # A server may answer and close before reading everything: read its answer.
        with suppress(ConnectionError):
            sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), {k.lower(): v for k, v in headers.items()}, body


def wait_until(condition, timeout_s, message):
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(message)
        time.sleep(0.05)


# Made per test run: a value written here would be published, and production refuses those.
SERVER_SECRETS = {name: secrets.token_urlsafe(48) for name in ("SECRET_KEY", "JWT_SECRET_KEY")}


def production_env(**settings):
    """The environment of a production-configured Folio, without the test runner's settings."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "PROMETHEUS"))}
    keep.pop("REDIS_URL", None)
    return {
        **keep,
        "APP_ENV": "production",
        **SERVER_SECRETS,
        "TRUSTED_HOSTS": "127.0.0.1,localhost",
        "HOST": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        **{name: str(value) for name, value in settings.items()},
    }


class Gunicorn:
    """Folio under gunicorn, configured by gunicorn.conf.py as in production."""

    def __init__(self, env, log_path, app="wsgi:app", workers=1, host="127.0.0.1"):
        self.port = free_port()
        self.workers = workers
        self.app = app
        self.host = host  # the Host header of its own health checks: one of TRUSTED_HOSTS
        self.log_path = log_path
        self.env = {**env, "PORT": str(self.port), "WEB_CONCURRENCY": str(workers)}
        self.process = None

    def start(self):
        command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", self.app]
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                command, cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        wait_until(self.answers, 30, f"gunicorn did not start; see {self.log_path}")
        wait_until(lambda: len(self.worker_pids()) == self.workers, 30, "workers did not boot")
        return self

    def answers(self):
        assert self.process.poll() is None, f"gunicorn exited; see {self.log_path}"
        try:
            return (
                call(self.port, "GET", "/health", headers={"Host": self.host}, timeout=2)[0] == 200
            )
        except OSError:
            return False

    def worker_pids(self):
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return sorted(int(child) for child in children)

    def call(self, method, path, body=None, headers=None):
        return call(self.port, method, path, body, headers)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


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
def folio_server(tmp_path, seed=None, **settings):
    """Serve a fresh Folio until the block ends; yields its URL. `settings` are env vars;
    `seed`, the arguments of a `flask seed` run after the migrations (as `make run`)."""
    env = server_environment(tmp_path / "folio.db", **settings)
    steps = [["db", "upgrade"]] + ([["seed", *seed]] if seed is not None else [])
    for step in steps:
        subprocess.run(flask(*step), cwd=BASE_DIR, env=env, check=True, capture_output=True)
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


class Serve:
    """`make serve`'s shape: deploy/serve.py (nginx in front of gunicorn) on a free port."""

    SCRIPT = BASE_DIR / "deploy" / "serve.py"

    def __init__(self, env, log_path, workers=2):
        self.port = free_port()
        self.log_path = log_path
        self.env = {**env, "PORT": str(self.port), "WEB_CONCURRENCY": str(workers)}
        self.process = None

    def start(self):
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(self.SCRIPT)],
                cwd=BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_until(self.answers, 60, f"make serve's shape did not start; see {self.log_path}")
        except BaseException:
            self.stop()  # a failed start must not leave nginx or gunicorn behind
            raise
        return self

    def answers(self):
        assert self.process.poll() is None, f"deploy/serve.py exited; see {self.log_path}"
        try:
            return call(self.port, "GET", "/health", timeout=2)[0] == 200
        except OSError:
            return False

    def log_lines(self):
        """The JSON lines written so far (Folio's and nginx's own)."""
        lines = self.log_path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def stop(self):
        """SIGTERM, as a supervisor would send; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def serve_script():
    """deploy/serve.py as a module, for its helpers (rendering nginx's config)."""
    spec = importlib.util.spec_from_file_location("folio_serve", Serve.SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
