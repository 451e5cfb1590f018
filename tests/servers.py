"""Real Folio servers for tests that cross process boundaries (gunicorn, HTTP)."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
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


def wait_until(condition, timeout_s, message):
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(message)
        time.sleep(0.05)


def production_env(**settings):
    """The environment of a production-configured Folio, without the test runner's settings."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "PROMETHEUS"))}
    keep.pop("REDIS_URL", None)
    return {
        **keep,
        "APP_ENV": "production",
        "SECRET_KEY": "server-test-secret-key-0123456789abcdef",
        "JWT_SECRET_KEY": "server-test-jwt-secret-0123456789abcdef",
        "HOST": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        **{name: str(value) for name, value in settings.items()},
    }


class Gunicorn:
    """Folio under gunicorn, configured by gunicorn.conf.py as in production."""

    def __init__(self, env, log_path, app="wsgi:app", workers=1):
        self.port = free_port()
        self.workers = workers
        self.app = app
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
            return call(self.port, "GET", "/health", timeout=2)[0] == 200
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
