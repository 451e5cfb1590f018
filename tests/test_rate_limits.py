"""The API-wide rate limit, and limits and revocations shared by several processes.

Flask-Limiter is one module-level object whose default limit sticks to the
first app that sets one, so apps with a default limit run in their own
process here (`run_isolated`), never inside the test session.
"""

import json
import os
import subprocess
import sys

import pytest

from config import BASE_DIR
from tests.conftest import PASSWORD, bearer
from tests.servers import Gunicorn, free_port, production_env

pytestmark = pytest.mark.processes  # starts servers or other processes

SCRIPT = """
import json, sys
from app import create_app
from app.extensions import db
from app.services import accounts, tokens
app = create_app("testing", SQLALCHEMY_DATABASE_URI=sys.argv[1])
with app.app_context():
    db.create_all()
    users = [accounts.register(username=n, email=n + "@example.com", password="x" * 12)
             for n in ("alice", "bob")]
    tokens_by_user = {u.username: tokens.issue_pair(u)["access_token"] for u in users}
    db.session.commit()
client = app.test_client()

def statuses(path, n, method="GET", user=None, address="10.0.0.1"):
    headers = {"Authorization": "Bearer " + tokens_by_user[user]} if user else {}
    if method == "OPTIONS":
        headers.update({"Origin": "https://app.example", "Access-Control-Request-Method": "GET"})
    out = []
    for _ in range(n):
        r = client.open(path, method=method, headers=headers, environ_base={"REMOTE_ADDR": address})
        out.append([r.status_code, r.mimetype, r.headers.get("Retry-After")])
    return out

print(json.dumps({
    "anonymous": statuses("/api/v1/tags", 4),
    "other_address": statuses("/api/v1/tags", 1, address="10.0.0.2"),
    "alice": statuses("/api/v1/tags", 4, user="alice"),
    "bob": statuses("/api/v1/tags", 1, user="bob"),
    "health": statuses("/health", 6),
    "preflight": statuses("/api/v1/tags", 6, method="OPTIONS", address="10.0.0.3"),
}))
"""


def run_isolated(tmp_path, **settings):
    env = {k: v for k, v in os.environ.items() if k not in {"TEST_DATABASE_URL", "REDIS_URL"}}
    env.update({"APP_ENV": "testing", "RATELIMIT_DEFAULT": "3/minute", **settings})
    url = f"sqlite:///{tmp_path / 'limits.db'}"
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, url], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def codes(rows):
    return [row[0] for row in rows]


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_isolated(tmp_path_factory.mktemp("limits"))


def test_the_default_limit_answers_429_problem_with_retry_after(outcome):
    assert codes(outcome["anonymous"]) == [200, 200, 200, 429]
    _status, mimetype, retry_after = outcome["anonymous"][-1]
    assert mimetype == "application/problem+json"
    assert int(retry_after) > 0


def test_only_refusals_say_retry_after(outcome):
    assert [row[2] for row in outcome["anonymous"][:3]] == [None, None, None]


def test_anonymous_clients_are_counted_per_address(outcome):
    assert codes(outcome["other_address"]) == [200]


def test_signed_in_users_are_counted_per_user(outcome):
    # alice shares bob's address and the anonymous client's, yet has her own budget
    assert codes(outcome["alice"]) == [200, 200, 200, 429]
    assert codes(outcome["bob"]) == [200]


def test_health_checks_and_cors_preflights_are_not_limited(outcome):
    assert set(codes(outcome["health"])) == {200}
    assert 429 not in codes(outcome["preflight"])


def test_the_api_keeps_serving_when_redis_is_down(tmp_path):
    outcome = run_isolated(tmp_path, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    # counted in memory instead: still limited, never a 500
    assert codes(outcome["anonymous"]) == [200, 200, 200, 429]


@pytest.fixture
def two_instances(database_url, tmp_path):
    """Two gunicorn instances sharing the test database and Redis."""
    env = production_env(
        DATABASE_URL=database_url,
        REDIS_URL=os.environ["REDIS_URL"],
        RATELIMIT_LOGIN_PER_ACCOUNT="3/minute",
    )
    servers = [Gunicorn(env, tmp_path / f"gunicorn-{i}.log").start() for i in range(2)]
    yield servers
    for server in servers:
        server.stop()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
def test_a_login_limit_counted_on_one_instance_holds_on_the_other(two_instances, make_user):
    first, second = two_instances
    make_user("alice")
    wrong = {"login": "alice", "password": "not the password"}
    assert [first.call("POST", "/auth/login", wrong)[0] for _ in range(3)] == [401] * 3
    right = {"login": "alice", "password": PASSWORD}
    status, mimetype, _ = second.call("POST", "/auth/login", right)
    assert (status, mimetype) == (429, "application/problem+json")


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
def test_a_token_revoked_through_one_instance_is_refused_by_the_other(two_instances, make_user):
    first, second = two_instances
    make_user("alice")
    _, _, pair = first.call("POST", "/auth/login", {"login": "alice", "password": PASSWORD})
    headers = bearer(pair["access_token"])
    assert second.call("GET", "/auth/me", headers=headers)[0] == 200
    assert first.call("POST", "/auth/logout", headers=headers)[0] == 204
    assert second.call("GET", "/auth/me", headers=headers)[0] == 401
    refresh = bearer(pair["refresh_token"])
    assert second.call("POST", "/auth/refresh", headers=refresh)[0] == 401
