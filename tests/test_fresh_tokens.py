"""Changing the email or the password needs proof of a recent sign-in.

A stolen access token must not become a permanent takeover: the proof is a
fresh token (issued by a sign-in with credentials, for JWT_FRESH_SECONDS) or
the current password. A token obtained by refresh is never fresh.
"""

from datetime import timedelta

import pytest

from app.core import clock
from tests.conduit_helpers import API, assert_conduit_error, register, token_header
from tests.conftest import PASSWORD, bearer

NEW_EMAIL = "alice.new@example.com"


@pytest.fixture
def pair(make_user, login):
    make_user("alice")
    return login("alice")


@pytest.fixture
def refreshed(client, pair):
    """Alice's access token from a refresh: valid, but not proof of a sign-in."""
    response = client.post("/auth/refresh", headers=bearer(pair["refresh_token"]))
    assert response.status_code == 200
    return response.get_json()["access_token"]


@pytest.fixture
def later(monkeypatch):
    """Move the clock past the freshness window (the token itself has not expired)."""
    moved = clock.utcnow() + timedelta(minutes=16)
    monkeypatch.setattr("app.services.tokens.utcnow", lambda: moved)


def email_of(client, token):
    return client.get("/auth/me", headers=bearer(token)).get_json()["email"]


def assert_sign_in_required(response, what):
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert (
        f"Sign in again, or send current_password, to change your {what}"
        in (response.get_json()["detail"])
    )
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="insufficient_user_authentication"' in challenge
    assert "max_age=900" in challenge


def test_a_token_from_login_changes_the_email(client, pair):
    token = pair["access_token"]
    response = client.patch("/auth/me", json={"email": NEW_EMAIL}, headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json()["email"] == NEW_EMAIL


def test_a_refreshed_token_cannot_change_the_email(client, refreshed):
    response = client.patch("/auth/me", json={"email": NEW_EMAIL}, headers=bearer(refreshed))
    assert_sign_in_required(response, "email")
    assert email_of(client, refreshed) == "alice@example.com"


def test_a_login_token_goes_stale_after_the_window(client, pair, later):
    token = pair["access_token"]
    response = client.patch("/auth/me", json={"email": NEW_EMAIL}, headers=bearer(token))
    assert_sign_in_required(response, "email")
    assert email_of(client, token) == "alice@example.com"


def test_the_current_password_proves_a_recent_sign_in(client, refreshed):
    body = {"email": NEW_EMAIL, "current_password": PASSWORD}
    response = client.patch("/auth/me", json=body, headers=bearer(refreshed))
    assert response.status_code == 200
    assert response.get_json()["email"] == NEW_EMAIL
    assert "current_password" not in response.get_json()


def test_a_wrong_current_password_is_403_and_changes_nothing(client, refreshed):
    body = {"email": NEW_EMAIL, "current_password": "not the password"}
    response = client.patch("/auth/me", json=body, headers=bearer(refreshed))
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert email_of(client, refreshed) == "alice@example.com"


def test_a_wrong_current_password_is_403_even_with_a_fresh_token(client, pair):
    body = {"bio": "new", "current_password": "not the password"}
    response = client.patch("/auth/me", json=body, headers=bearer(pair["access_token"]))
    assert response.status_code == 403


def test_a_refreshed_token_still_edits_the_rest_of_the_profile(client, refreshed):
    body = {"bio": "Down the rabbit hole", "email": "alice@example.com"}  # the same email
    response = client.patch("/auth/me", json=body, headers=bearer(refreshed))
    assert response.status_code == 200
    assert response.get_json()["bio"] == "Down the rabbit hole"


def test_the_password_endpoint_takes_the_current_password_as_proof(client, pair, refreshed):
    body = {"current_password": PASSWORD, "new_password": "a brand new passphrase"}
    assert client.post("/auth/password", json=body, headers=bearer(refreshed)).status_code == 204


# --- Conduit: no current-password field, so its token must be fresh -------------------


def put_user(client, token, **fields):
    return client.put(f"{API}/user", json={"user": fields}, headers=token_header(token))


def test_conduit_changes_the_password_right_after_signing_in(client):
    token = register(client, "jake")["token"]
    assert put_user(client, token, password="a brand new password").status_code == 200


@pytest.mark.parametrize(
    ("fields", "what"),
    [({"password": "a brand new password"}, "password"), ({"email": "j@example.org"}, "email")],
    ids=["password", "email"],
)
def test_conduit_refuses_a_stale_token_for_the_password_or_email(client, later, fields, what):
    user = register(client, "jake")
    response = put_user(client, user["token"], **fields)
    errors = assert_conduit_error(response, 401)
    assert errors == {"body": [f"sign in again to change your {what}"]}
    assert 'error="insufficient_user_authentication"' in response.headers["WWW-Authenticate"]
    current = client.get(f"{API}/user", headers=token_header(user["token"])).get_json()
    assert current["user"]["email"] == "jake@example.com"
    relogin = {"user": {"email": "jake@example.com", "password": PASSWORD}}
    assert client.post(f"{API}/users/login", json=relogin).status_code == 200


def test_conduit_settings_form_with_a_stale_token_saves_the_profile(client, later):
    """Frontends send the whole form: the unchanged email and a blank password."""
    user = register(client, "jake")
    response = put_user(
        client, user["token"], email="jake@example.com", password="", bio="I skate", image=""
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["user"]["bio"] == "I skate"
