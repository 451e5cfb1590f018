"""The API-wide limit costs one Redis round trip per request (app/core/rate_limits.py).

Flask-Limiter hits the limit, then asks for its window for the X-RateLimit-*
headers; the storage answers the second from the first. Run in a process of
its own, as tests/test_rate_limits.py explains.
"""

import json
import os
import subprocess
import sys

import pytest

from config import BASE_DIR

pytestmark = [pytest.mark.processes, pytest.mark.redis]

SCRIPT = """
import json, sys, uuid
from app import create_app
from app.extensions import db, limiter
app = create_app("testing", SQLALCHEMY_DATABASE_URI=sys.argv[1],
                 RATELIMIT_KEY_PREFIX="round-trips-" + uuid.uuid4().hex)
with app.app_context():
    db.create_all()
    redis_client = limiter.limiter.storage.storage
sent = []
real = redis_client.execute_command
def counted(*args, **kwargs):
    sent.append(args[0])
    return real(*args, **kwargs)
redis_client.execute_command = counted
client = app.test_client()
client.get("/api/v1/tags", environ_base={"REMOTE_ADDR": "10.9.0.1"})  # loads the scripts
rows = []
for _ in range(6):
    sent.clear()
    r = client.get("/api/v1/tags", environ_base={"REMOTE_ADDR": "10.9.0.2"})
    rows.append([r.status_code, len(sent), r.headers.get("X-RateLimit-Limit"),
                 r.headers.get("X-RateLimit-Remaining"), r.headers.get("X-RateLimit-Reset")])
print(json.dumps(rows))
"""


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    env.update({"APP_ENV": "testing", "RATELIMIT_DEFAULT": "5/minute"})
    url = f"sqlite:///{tmp_path_factory.mktemp('round-trips') / 'limits.db'}"
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, url], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_each_limited_request_makes_one_redis_round_trip(rows):
    assert [row[1] for row in rows] == [1] * 6


def test_the_limit_still_holds_and_refuses_the_sixth(rows):
    assert [row[0] for row in rows] == [200] * 5 + [429]


def test_the_headers_count_down_from_the_hits_own_window(rows):
    assert [row[2] for row in rows] == ["5"] * 6
    assert [row[3] for row in rows] == ["4", "3", "2", "1", "0", "0"]
    resets = {int(row[4]) for row in rows}
    assert len(resets) == 1  # the first hit's time plus a minute, for all six
