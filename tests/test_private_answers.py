"""Answers carrying tokens or the own account say `no-store`; GET /auth/me is conditional."""

import pytest

from tests.conduit_helpers import API, token_header
from tests.conftest import PASSWORD, bearer


@pytest.fixture
def pair(make_user, login):
    make_user("alice")
    return login("alice")


def conduit_user(username="jake"):
    return {
        "user": {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
    }


def token_answers(client, pair):
    """One answer of every endpoint that hands out a token or the own account."""
    access = bearer(pair["access_token"])
    registered = client.post(f"{API}/users", json=conduit_user())
    conduit = token_header(registered.get_json()["user"]["token"])
    login = {"user": {"email": "jake@example.com", "password": PASSWORD}}
    register = {"username": "bob", "email": "bob@example.com", "password": PASSWORD}
    return {
        "POST /auth/register": client.post("/auth/register", json=register),
        "POST /auth/login": client.post(
            "/auth/login", json={"login": "alice", "password": PASSWORD}
        ),
        "POST /auth/refresh": client.post("/auth/refresh", headers=bearer(pair["refresh_token"])),
        "GET /auth/me": client.get("/auth/me", headers=access),
        "PATCH /auth/me": client.patch("/auth/me", json={"bio": "hi"}, headers=access),
        "POST /api/users": registered,
        "POST /api/users/login": client.post(f"{API}/users/login", json=login),
        "GET /api/user": client.get(f"{API}/user", headers=conduit),
        "PUT /api/user": client.put(f"{API}/user", json={"user": {"bio": "x"}}, headers=conduit),
    }


def test_answers_with_tokens_or_the_own_account_are_no_store(client, pair):
    answers = token_answers(client, pair)
    assert {name: r.status_code < 300 for name, r in answers.items()} == dict.fromkeys(
        answers, True
    )
    assert {name: r.headers.get("Cache-Control") for name, r in answers.items()} == dict.fromkeys(
        answers, "no-store"
    )


def test_the_spec_documents_no_store(client):
    spec = client.get("/openapi.json").get_json()
    headers = spec["paths"]["/auth/login"]["post"]["responses"]["200"]["headers"]
    assert "Cache-Control" in headers


def test_me_sends_a_strong_etag_and_answers_304(client, pair):
    headers = bearer(pair["access_token"])
    first = client.get("/auth/me", headers=headers)
    tag = first.headers["ETag"]
    assert tag.startswith('"') and not tag.startswith("W/")
    again = client.get("/auth/me", headers={**headers, "If-None-Match": tag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == tag


def test_the_etag_of_me_changes_with_the_own_view(client, pair, make_user, login):
    headers = bearer(pair["access_token"])
    tags = [client.get("/auth/me", headers=headers).headers["ETag"]]
    client.patch("/auth/me", json={"bio": "Down the rabbit hole"}, headers=headers)
    tags.append(client.get("/auth/me", headers=headers).headers["ETag"])
    make_user("bob")
    client.post("/api/v1/users/alice/follow", headers=bearer(login("bob")["access_token"]))
    tags.append(client.get("/auth/me", headers=headers).headers["ETag"])
    assert len(set(tags)) == 3
    stale = client.get("/auth/me", headers={**headers, "If-None-Match": tags[0]})
    assert stale.status_code == 200
    assert stale.get_json()["followers_count"] == 1
