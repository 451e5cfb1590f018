"""A retried or concurrent refresh within a few seconds is not taken for a stolen token.

Mobile apps on flaky networks resend a refresh whose answer they never got, or
send two at once. Within JWT_REFRESH_REUSE_GRACE_SECONDS of the token being
spent, re-presenting it answers a new pair in the same family; after that,
reuse revokes the family as before.
"""

from datetime import timedelta

import pytest

from app.core import clock
from tests.conftest import bearer
from tests.test_races import run_concurrently
from tests.test_tokens import claims_of


@pytest.fixture
def first(make_user, login):
    make_user("alice")
    return login("alice")


def refresh(client, pair):
    return client.post("/auth/refresh", headers=bearer(pair["refresh_token"]))


def works(client, pair):
    return client.get("/auth/me", headers=bearer(pair["access_token"])).status_code == 200


def move_clock(monkeypatch, seconds):
    moved = clock.utcnow() + timedelta(seconds=seconds)
    monkeypatch.setattr("app.services.tokens.utcnow", lambda: moved)


def test_a_retry_within_the_window_gets_a_pair_and_revokes_nothing(app, client, first):
    second = refresh(client, first).get_json()
    retry = refresh(client, first)
    assert retry.status_code == 200
    third = retry.get_json()
    assert third["refresh_token"] != second["refresh_token"]
    assert (
        claims_of(app, third["access_token"])["fam"] == claims_of(app, first["access_token"])["fam"]
    )
    assert works(client, first) and works(client, second) and works(client, third)
    # both branches carry on: whichever pair the client kept, it can refresh
    assert refresh(client, second).status_code == 200
    assert refresh(client, third).status_code == 200


def test_reuse_after_the_window_revokes_the_family(client, first, monkeypatch):
    second = refresh(client, first).get_json()
    move_clock(monkeypatch, 11)
    reuse = refresh(client, first)
    assert reuse.status_code == 401
    assert reuse.headers["WWW-Authenticate"] == "Bearer"
    assert not works(client, first) and not works(client, second)
    assert refresh(client, second).status_code == 401


def test_a_retry_late_in_the_window_still_counts(client, first, monkeypatch):
    refresh(client, first)
    move_clock(monkeypatch, 9)
    assert refresh(client, first).status_code == 200


def test_a_window_of_zero_keeps_strict_reuse_detection(make_app, make_user, login):
    app = make_app(JWT_REFRESH_REUSE_GRACE_SECONDS=0)
    client = app.test_client()
    make_user("alice")
    pair = client.post(
        "/auth/login", json={"login": "alice", "password": "correct horse battery staple"}
    ).get_json()
    assert refresh(client, pair).status_code == 200
    assert refresh(client, pair).status_code == 401
    assert not works(client, pair)


def test_concurrent_refreshes_of_one_token_all_succeed_in_one_family(app, first):
    requests = [("post", "/auth/refresh", {"headers": bearer(first["refresh_token"])})] * 4
    results = run_concurrently(app, requests)
    assert [r.status_code for r in results] == [200] * 4
    client = app.test_client()
    pairs = [r.get_json() for r in results]
    family = claims_of(app, first["access_token"])["fam"]
    assert {claims_of(app, pair["access_token"])["fam"] for pair in pairs} == {family}
    assert all(works(client, pair) for pair in [first, *pairs])
