"""Roles, deactivation and the admin endpoints: 401 vs 403 vs 404 as API.md says."""

import pytest

from tests.conftest import bearer


def test_admin_endpoints_need_a_token(client):
    assert client.get("/api/v1/users").status_code == 401
    assert client.patch("/api/v1/users/alice", json={"role": "editor"}).status_code == 401


@pytest.mark.parametrize("role", ["author", "editor"])
def test_admin_endpoints_are_403_below_admin(client, make_user, login, role):
    make_user("alice", role=role)
    headers = bearer(login("alice")["access_token"])
    assert client.get("/api/v1/users", headers=headers).status_code == 403
    response = client.patch("/api/v1/users/alice", json={"role": "admin"}, headers=headers)
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"


def test_admin_lists_users_with_filters(client, make_user, admin):
    make_user("alice", role="editor")
    make_user("bob")
    make_user("carol", is_active=False)

    def names(query=""):
        response = client.get(f"/api/v1/users?page=1{query}", headers=admin)
        assert response.status_code == 200
        return [u["username"] for u in response.get_json()["items"]]

    assert names() == ["alice", "bob", "carol", "root"]
    assert names("&role=editor") == ["alice"]
    assert names("&is_active=false") == ["carol"]
    assert names("&q=AR") == ["carol"]
    assert names("&q=%25") == []
    body = client.get("/api/v1/users?page=1&per_page=2", headers=admin).get_json()
    assert body["meta"] == {"page": 1, "per_page": 2, "total": 4, "pages": 2}
    assert "email" in body["items"][0] and "password_hash" not in body["items"][0]


def test_admin_list_rejects_bad_filters(client, admin):
    assert client.get("/api/v1/users?role=king", headers=admin).status_code == 422
    assert client.get("/api/v1/users?per_page=101", headers=admin).status_code == 422
    assert client.get("/api/v1/users?sort=password_hash", headers=admin).status_code == 422


def test_role_change_takes_effect_on_the_next_request(client, make_user, login, admin):
    make_user("alice")
    alice = bearer(login("alice")["access_token"])
    assert client.get("/api/v1/users", headers=alice).status_code == 403
    response = client.patch("/api/v1/users/alice", json={"role": "admin"}, headers=admin)
    assert response.status_code == 200
    assert response.get_json()["role"] == "admin"
    assert client.get("/api/v1/users", headers=alice).status_code == 200


def test_deactivation_stops_every_token_at_once(client, make_user, login, admin):
    make_user("alice")
    pair = login("alice")
    response = client.patch("/api/v1/users/ALICE", json={"is_active": False}, headers=admin)
    assert response.status_code == 200
    assert response.get_json()["is_active"] is False
    assert client.get("/auth/me", headers=bearer(pair["access_token"])).status_code == 401
    assert client.post("/auth/refresh", headers=bearer(pair["refresh_token"])).status_code == 401
    assert (
        client.post(
            "/auth/login", json={"login": "alice", "password": "correct horse battery staple"}
        ).status_code
        == 401
    )
    # reactivated, the old sessions stay revoked but a new login works
    client.patch("/api/v1/users/alice", json={"is_active": True}, headers=admin)
    assert client.get("/auth/me", headers=bearer(pair["access_token"])).status_code == 401
    login("alice")


@pytest.mark.parametrize(
    "body",
    [{"role": "superuser"}, {"is_active": "no"}, {"is_active": 0}, {"email": "x@example.com"}],
)
def test_admin_update_validates(client, make_user, admin, body):
    make_user("alice")
    assert client.patch("/api/v1/users/alice", json=body, headers=admin).status_code == 422


def test_admin_update_of_unknown_user_is_404(client, admin):
    response = client.patch("/api/v1/users/nobody", json={"role": "editor"}, headers=admin)
    assert response.status_code == 404


@pytest.mark.parametrize("change", [{"role": "editor"}, {"is_active": False}])
def test_the_last_active_admin_cannot_be_removed(client, admin, change):
    """API.md: without an active admin no one could manage users again."""
    response = client.patch("/api/v1/users/root", json=change, headers=admin)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    me = client.get("/auth/me", headers=admin).get_json()
    assert (me["role"], me["is_active"]) == ("admin", True)


def test_an_admin_may_step_down_while_another_remains(client, make_user, admin):
    make_user("second", role="admin")
    response = client.patch("/api/v1/users/root", json={"role": "editor"}, headers=admin)
    assert response.status_code == 200
    assert response.get_json()["role"] == "editor"
