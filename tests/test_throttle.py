"""Login throttling: repeated failures per account or per address answer 429."""

import pytest

from tests.conftest import PASSWORD


def attempt(client, login, password="wrong password", address="10.0.0.1"):
    return client.post(
        "/auth/login",
        json={"login": login, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_failures_for_one_account_are_limited_with_retry_after(client, make_user):
    make_user("alice")
    statuses = [attempt(client, "alice", address=f"10.0.0.{i}").status_code for i in range(5)]
    assert statuses == [401] * 5
    blocked = attempt(client, "ALICE", password=PASSWORD, address="10.0.0.99")
    assert blocked.status_code == 429
    assert blocked.mimetype == "application/problem+json"
    assert int(blocked.headers["Retry-After"]) > 0
    assert blocked.get_json()["status"] == 429


def test_failures_from_one_address_are_limited(client, make_user):
    make_user("alice")
    for i in range(20):
        assert attempt(client, f"user{i}").status_code == 401
    assert attempt(client, "alice", password=PASSWORD).status_code == 429
    # another address is not affected
    assert attempt(client, "alice", password=PASSWORD, address="10.9.9.9").status_code == 200


def test_successful_logins_are_not_counted(client, make_user):
    make_user("alice")
    for _ in range(8):
        assert attempt(client, "alice", password=PASSWORD).status_code == 200


def test_the_account_limit_is_configurable(make_app, make_user):
    app = make_app(RATELIMIT_LOGIN_PER_ACCOUNT="2/minute")
    make_user("alice")
    client = app.test_client()
    assert [attempt(client, "alice").status_code for _ in range(3)] == [401, 401, 429]


@pytest.mark.redis
def test_counters_live_in_redis_when_configured(app):
    from app.extensions import limiter

    assert app.config["RATELIMIT_STORAGE_URI"].startswith("redis://")
    with app.app_context():
        assert type(limiter.storage).__name__.startswith("Redis")
