"""The auth blueprint: every row of API.md's Auth table, success and failure."""

from datetime import timedelta

import pytest

from app.extensions import db
from app.models import User
from app.services import tokens
from tests.conftest import PASSWORD, bearer

SECRET_FIELDS = {"password", "password_hash"}


def register(client, **overrides):
    body = {"username": "alice", "email": "alice@example.com", "password": PASSWORD}
    return client.post("/auth/register", json={**body, **overrides})


def assert_no_secrets(response):
    text = response.get_data(as_text=True)
    assert PASSWORD not in text
    assert "argon2" not in text
    for field in SECRET_FIELDS:
        assert f'"{field}"' not in text


# --- register -----------------------------------------------------------------


def test_register_creates_an_author_and_points_at_me(client):
    response = register(client, full_name="Alice Liddell")
    assert response.status_code == 201
    assert response.headers["Location"].endswith("/auth/me")
    body = response.get_json()
    assert body["username"] == "alice"
    assert body["email"] == "alice@example.com"
    assert body["role"] == "author"
    assert body["is_active"] is True
    assert body["full_name"] == "Alice Liddell"
    assert body["created_at"].endswith("Z")
    assert_no_secrets(response)


def test_password_is_stored_as_argon2id(client, app):
    register(client)
    with app.app_context():
        stored = db.session.scalar(db.select(User.password_hash))
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


@pytest.mark.parametrize(
    "taken", [{"email": "ALICE@example.com"}, {"username": "Alice"}], ids=["email", "username"]
)
def test_register_conflict_is_case_insensitive(client, taken):
    assert register(client).status_code == 201
    other = {"username": "bob", "email": "bob@example.com", **taken}
    response = register(client, **other)
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert next(iter(taken)) in response.get_json()["detail"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"username": "ab"}, "username"),
        ({"username": "a" * 33}, "username"),
        ({"username": "bad name!"}, "username"),
        ({"username": 12345}, "username"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a" * 250 + "@example.com"}, "email"),
        ({"password": "short"}, "password"),
        ({"password": "x" * 257}, "password"),
        ({"password": "alice@example.com"}, "password"),
        ({"password": "ALICEalice"[5:] + "_long", "username": "alice_long"}, "password"),
        ({"full_name": "x" * 101}, "full_name"),
        ({"full_name": "nul \x00 inside"}, "full_name"),  # PostgreSQL text cannot hold it
        ({"role": "admin"}, "role"),
        ({"is_active": False}, "is_active"),
        ({"id": 7}, "id"),
    ],
)
def test_register_rejects_bad_input_and_stores_nothing(client, app, overrides, field):
    response = register(client, **overrides)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_register_missing_fields(client):
    response = client.post("/auth/register", json={})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"username", "email", "password"}


def test_register_needs_json(client):
    response = client.post("/auth/register", data="username=alice", content_type="text/plain")
    assert response.status_code == 415


# --- login --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["alice", "ALICE", "alice@example.com", "Alice@Example.com"])
def test_login_by_username_or_email(client, make_user, name):
    make_user("alice")
    response = client.post("/auth/login", json={"login": name, "password": PASSWORD})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert_no_secrets(response)


def test_every_wrong_credential_gets_the_same_401(client, make_user):
    make_user("alice")
    make_user("ghost", is_active=False)
    answers = [
        client.post("/auth/login", json={"login": login, "password": password})
        for login, password in [
            ("alice", "wrong password"),
            ("nobody", PASSWORD),
            ("ghost", PASSWORD),
        ]
    ]
    assert {r.status_code for r in answers} == {401}
    bodies = [{k: v for k, v in r.get_json().items() if k != "request_id"} for r in answers]
    assert bodies[0] == bodies[1] == bodies[2]
    assert all(r.headers["WWW-Authenticate"] == "Bearer" for r in answers)


def test_unknown_account_still_runs_a_password_hash(app, monkeypatch):
    """No user enumeration by timing: the unknown-account path verifies a hash too."""
    from app.services import accounts, passwords

    calls = []
    real = passwords.verify_password
    monkeypatch.setattr(passwords, "verify_password", lambda h, p: calls.append(h) or real(h, p))
    with app.app_context():
        assert accounts.authenticate("nobody", PASSWORD) is None
    assert calls == [None]


def test_login_rejects_extra_fields(client):
    response = client.post("/auth/login", json={"login": "a", "password": "b", "remember": True})
    assert response.status_code == 422


# --- me -----------------------------------------------------------------------


def test_me_needs_a_token(client):
    response = client.get("/auth/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.mimetype == "application/problem+json"


def test_me_returns_the_own_view(client, make_user, login):
    make_user("alice", role="editor")
    response = client.get("/auth/me", headers=bearer(login("alice")["access_token"]))
    assert response.status_code == 200
    body = response.get_json()
    assert body["username"] == "alice"
    assert body["role"] == "editor"
    assert_no_secrets(response)


def test_patch_me_changes_the_profile(client, make_user, login):
    make_user("alice")
    headers = bearer(login("alice")["access_token"])
    changes = {
        "full_name": "Alice L",
        "bio": "Down the rabbit hole",
        "image": "https://img.example/a.png",
    }
    response = client.patch("/auth/me", json=changes, headers=headers)
    assert response.status_code == 200
    assert {k: response.get_json()[k] for k in changes} == changes
    assert client.get("/auth/me", headers=headers).get_json()["bio"] == "Down the rabbit hole"


@pytest.mark.parametrize(
    "changes",
    [
        {"role": "admin"},
        {"is_active": False},
        {"username": "mallory"},
        {"id": 1},
        {"bio": "x" * 2001},
    ],
)
def test_patch_me_refuses_what_a_user_may_not_set(client, make_user, login, changes):
    make_user("alice")
    headers = bearer(login("alice")["access_token"])
    response = client.patch("/auth/me", json=changes, headers=headers)
    assert response.status_code == 422
    me = client.get("/auth/me", headers=headers).get_json()
    assert me["role"] == "author" and me["is_active"] is True and me["username"] == "alice"


def test_patch_me_email_taken_is_409(client, make_user, login):
    make_user("alice")
    make_user("bob")
    headers = bearer(login("alice")["access_token"])
    response = client.patch("/auth/me", json={"email": "BOB@example.com"}, headers=headers)
    assert response.status_code == 409
    assert client.get("/auth/me", headers=headers).get_json()["email"] == "alice@example.com"


# --- refresh rotation and reuse detection -------------------------------------


def test_refresh_rotates_the_pair(client, make_user, login):
    make_user("alice")
    first = login("alice")
    response = client.post("/auth/refresh", headers=bearer(first["refresh_token"]))
    assert response.status_code == 200
    second = response.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert client.get("/auth/me", headers=bearer(second["access_token"])).status_code == 200
    # the new refresh token works in turn
    assert client.post("/auth/refresh", headers=bearer(second["refresh_token"])).status_code == 200


def test_reusing_a_spent_refresh_token_revokes_the_whole_family(
    client, make_user, login, monkeypatch
):
    make_user("alice")
    first = login("alice")
    second = client.post("/auth/refresh", headers=bearer(first["refresh_token"])).get_json()

    # past the grace window for a client's retry (tests/test_refresh_grace.py)
    later = tokens.utcnow() + timedelta(minutes=1)
    monkeypatch.setattr("app.services.tokens.utcnow", lambda: later)
    reuse = client.post("/auth/refresh", headers=bearer(first["refresh_token"]))
    assert reuse.status_code == 401
    assert reuse.headers["WWW-Authenticate"] == "Bearer"

    for token in (first["access_token"], second["access_token"]):
        assert client.get("/auth/me", headers=bearer(token)).status_code == 401
    assert client.post("/auth/refresh", headers=bearer(second["refresh_token"])).status_code == 401


def test_reuse_in_one_family_leaves_other_sessions_alone(client, make_user, login, monkeypatch):
    make_user("alice")
    phone, laptop = login("alice"), login("alice")
    client.post("/auth/refresh", headers=bearer(phone["refresh_token"]))
    later = tokens.utcnow() + timedelta(minutes=1)
    monkeypatch.setattr("app.services.tokens.utcnow", lambda: later)
    assert client.post("/auth/refresh", headers=bearer(phone["refresh_token"])).status_code == 401
    assert client.get("/auth/me", headers=bearer(laptop["access_token"])).status_code == 200


def test_refresh_token_is_not_an_access_token(client, make_user, login):
    make_user("alice")
    pair = login("alice")
    response = client.get("/auth/me", headers=bearer(pair["refresh_token"]))
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_access_token_is_not_a_refresh_token(client, make_user, login):
    make_user("alice")
    pair = login("alice")
    response = client.post("/auth/refresh", headers=bearer(pair["access_token"]))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


# --- logout -------------------------------------------------------------------


def test_logout_stops_the_access_token_and_its_family(client, make_user, login):
    make_user("alice")
    pair = login("alice")
    other = login("alice")
    assert client.post("/auth/logout", headers=bearer(pair["access_token"])).status_code == 204
    assert client.get("/auth/me", headers=bearer(pair["access_token"])).status_code == 401
    assert client.post("/auth/refresh", headers=bearer(pair["refresh_token"])).status_code == 401
    assert client.get("/auth/me", headers=bearer(other["access_token"])).status_code == 200


def test_logout_needs_no_body_or_content_type(client, make_user, login):
    make_user("alice")
    token = login("alice")["access_token"]
    response = client.post("/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 204
    assert response.get_data() == b""


# --- password -----------------------------------------------------------------


def test_password_change_revokes_every_other_session(client, make_user, login):
    make_user("alice")
    current, other = login("alice"), login("alice")
    response = client.post(
        "/auth/password",
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
        headers=bearer(current["access_token"]),
    )
    assert response.status_code == 204
    assert client.get("/auth/me", headers=bearer(current["access_token"])).status_code == 200
    assert client.post("/auth/refresh", headers=bearer(current["refresh_token"])).status_code == 200
    assert client.get("/auth/me", headers=bearer(other["access_token"])).status_code == 401
    assert client.post("/auth/refresh", headers=bearer(other["refresh_token"])).status_code == 401
    assert (
        client.post("/auth/login", json={"login": "alice", "password": PASSWORD}).status_code == 401
    )
    login("alice", "a brand new passphrase")


def test_password_change_with_wrong_current_password_is_403(client, make_user, login):
    make_user("alice")
    headers = bearer(login("alice")["access_token"])
    body = {"current_password": "not it at all", "new_password": "a brand new passphrase"}
    assert client.post("/auth/password", json=body, headers=headers).status_code == 403
    login("alice")


@pytest.mark.parametrize("new_password", ["short", "alice", "ALICE@example.com", "y" * 257])
def test_new_password_follows_the_registration_rules(client, make_user, login, new_password):
    make_user("alice")
    headers = bearer(login("alice")["access_token"])
    body = {"current_password": PASSWORD, "new_password": new_password}
    response = client.post("/auth/password", json=body, headers=headers)
    assert response.status_code == 422
    assert "new_password" in response.get_json()["errors"]
    login("alice")
