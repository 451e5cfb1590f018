"""Conduit users: POST /api/users, POST /api/users/login, GET and PUT /api/user."""

import pytest

from tests.conduit_helpers import (
    API,
    USER_FIELDS,
    assert_conduit_error,
    get_ok,
    register,
    token_header,
)
from tests.conftest import PASSWORD, bearer


def login(client, email, password=PASSWORD):
    return client.post(f"{API}/users/login", json={"user": {"email": email, "password": password}})


def test_register_answers_201_with_the_user_and_a_working_token(client):
    response = client.post(
        f"{API}/users",
        json={"user": {"username": "jake", "email": "jake@jake.jake", "password": "jakejake1"}},
    )
    assert response.status_code == 201
    user = response.get_json()["user"]
    assert set(user) == USER_FIELDS
    assert (user["username"], user["email"], user["bio"], user["image"]) == (
        "jake",
        "jake@jake.jake",
        None,
        None,
    )
    assert get_ok(client, "/user", token_header(user["token"]))["user"]["username"] == "jake"


def test_the_token_is_an_ordinary_folio_access_token(client):
    token = register(client, "jake")["token"]
    assert client.get("/auth/me", headers=bearer(token)).get_json()["username"] == "jake"


def test_register_a_taken_username_or_email_is_422_on_that_field(client):
    register(client, "jake")
    body = {"user": {"username": "JAKE", "email": "other@example.com", "password": PASSWORD}}
    errors = assert_conduit_error(client.post(f"{API}/users", json=body), 422, "username")
    assert errors == {"username": ["has already been taken"]}


def test_register_validates_fields_with_folios_rules(client):
    body = {"user": {"username": "no spaces", "email": "not-an-email", "password": "short"}}
    errors = assert_conduit_error(client.post(f"{API}/users", json=body), 422, "username")
    assert set(errors) == {"username", "email", "password"}


def test_register_without_the_user_envelope_is_422(client):
    assert_conduit_error(client.post(f"{API}/users", json={"username": "jake"}), 422, "user")


def test_login_returns_the_user_with_a_new_token(client):
    register(client, "jake")
    response = login(client, "jake@example.com")
    assert response.status_code == 200
    user = response.get_json()["user"]
    assert set(user) == USER_FIELDS
    assert (
        get_ok(client, "/user", token_header(user["token"]))["user"]["email"] == "jake@example.com"
    )


@pytest.mark.parametrize("email", ["jake@example.com", "nobody@example.com"])
def test_a_wrong_login_is_401_with_one_message(client, email):
    register(client, "jake")
    errors = assert_conduit_error(login(client, email, "wrong password"), 401)
    assert errors == {"body": ["email or password is invalid"]}


def test_a_deactivated_account_cannot_log_in(client, make_user):
    make_user("jake", is_active=False)
    assert_conduit_error(login(client, "jake@example.com"), 401)


def test_failed_logins_are_throttled_per_account(client):
    register(client, "jake")
    # From one address: the account's limit is per address (docs/authentication.md).
    for _ in range(5):
        attempt = client.post(
            f"{API}/users/login",
            json={"user": {"email": "jake@example.com", "password": "wrong password"}},
        )
        assert attempt.status_code == 401
    blocked = login(client, "JAKE@example.com")
    assert_conduit_error(blocked, 429)
    assert int(blocked.headers["Retry-After"]) > 0


def test_current_user_accepts_token_and_bearer_schemes(client):
    token = register(client, "jake")["token"]
    for headers in (token_header(token), bearer(token)):
        user = get_ok(client, "/user", headers)["user"]
        assert user["username"] == "jake"
        assert user["token"] == token


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Token"}, {"Authorization": "Token not.a.jwt"}],
    ids=["missing", "empty", "malformed"],
)
def test_current_user_without_a_valid_token_is_401(client, headers):
    response = client.get(f"{API}/user", headers=headers)
    assert_conduit_error(response, 401)
    assert "WWW-Authenticate" in response.headers


def test_a_logged_out_token_is_refused(client):
    token = register(client, "jake")["token"]
    assert client.post("/auth/logout", headers=bearer(token)).status_code == 204
    assert_conduit_error(client.get(f"{API}/user", headers=token_header(token)), 401)


def test_a_deactivated_users_token_stops_working(client, make_user, login):
    token = register(client, "jake")["token"]
    make_user("boss", role="admin")
    admin = bearer(login("boss")["access_token"])
    deactivate = client.patch("/api/v1/users/jake", json={"is_active": False}, headers=admin)
    assert deactivate.status_code == 200
    assert_conduit_error(client.get(f"{API}/user", headers=token_header(token)), 401)


def put_user(client, token, **fields):
    return client.put(f"{API}/user", json={"user": fields}, headers=token_header(token))


def test_update_user_changes_profile_fields(client):
    token = register(client, "jake")["token"]
    response = put_user(
        client, token, bio="I like to skateboard", image="https://example.com/jake.png"
    )
    assert response.status_code == 200
    user = response.get_json()["user"]
    assert (user["bio"], user["image"], user["token"]) == (
        "I like to skateboard",
        "https://example.com/jake.png",
        token,
    )
    profile = get_ok(client, "/profiles/jake")["profile"]
    assert profile["bio"] == "I like to skateboard"


def test_update_user_treats_a_blank_image_and_password_as_unset(client):
    """RealWorld frontends send the whole settings form, blanks included."""
    token = register(client, "jake")["token"]
    response = put_user(client, token, image="", password="", bio="", username="jake")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["user"]["image"] is None
    assert login(client, "jake@example.com").status_code == 200


def test_update_user_can_rename(client):
    token = register(client, "jake")["token"]
    assert put_user(client, token, username="jacob").get_json()["user"]["username"] == "jacob"
    assert get_ok(client, "/profiles/jacob")["profile"]["username"] == "jacob"


def test_update_user_to_a_taken_email_is_422(client):
    register(client, "jane")
    token = register(client, "jake")["token"]
    assert_conduit_error(put_user(client, token, email="JANE@example.com"), 422, "email")


def test_a_new_password_signs_out_other_sessions_but_not_this_one(client):
    token = register(client, "jake")["token"]
    other = login(client, "jake@example.com").get_json()["user"]["token"]
    assert put_user(client, token, password="a brand new password").status_code == 200
    assert get_ok(client, "/user", token_header(token))["user"]["username"] == "jake"
    assert_conduit_error(client.get(f"{API}/user", headers=token_header(other)), 401)
    assert login(client, "jake@example.com", "a brand new password").status_code == 200


def test_a_new_password_equal_to_the_username_is_422(client):
    token = register(client, "jakejake")["token"]
    assert_conduit_error(put_user(client, token, password="JakeJake"), 422, "password")


def test_update_user_rejects_unknown_fields(client):
    token = register(client, "jake")["token"]
    assert_conduit_error(put_user(client, token, role="admin"), 422, "role")
