"""The last active admin cannot be demoted or deactivated, not even by a race."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import User
from tests.conftest import bearer, sign_up
from tests.test_races import run_concurrently

REMOVALS = [{"role": "editor"}, {"is_active": False}, {"role": "author", "is_active": False}]


def active_admins(app):
    with app.app_context():
        query = select(func.count()).where(User.role == "admin", User.is_active.is_(True))
        return db.session.scalar(query)


def assert_refused(response):
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert "last active admin" in response.get_json()["detail"]


@pytest.mark.parametrize("removal", REMOVALS, ids=["demote", "deactivate", "both"])
def test_the_only_admin_cannot_remove_themselves(app, client, admin, removal):
    assert_refused(client.patch("/api/v1/users/root", json=removal, headers=admin))
    assert active_admins(app) == 1
    assert client.get("/api/v1/users", headers=admin).status_code == 200  # still signed in


def test_an_inactive_admin_does_not_count(app, client, admin, make_user):
    make_user("retired", role="admin", is_active=False)
    assert_refused(client.patch("/api/v1/users/root", json={"role": "editor"}, headers=admin))


def test_with_another_admin_one_may_step_down(app, client, admin, make_user, login):
    other = sign_up(make_user, login, "deputy", role="admin")
    response = client.patch("/api/v1/users/root", json={"role": "editor"}, headers=admin)
    assert response.status_code == 200
    assert_refused(client.patch("/api/v1/users/deputy", json={"is_active": False}, headers=other))
    assert active_admins(app) == 1


def test_keeping_the_last_admin_an_admin_is_allowed(client, admin):
    body = {"role": "admin", "is_active": True}
    assert client.patch("/api/v1/users/root", json=body, headers=admin).status_code == 200


@pytest.mark.parametrize("removal", REMOVALS[:2], ids=["demote", "deactivate"])
def test_two_admins_removing_each_other_at_once_leave_one(app, make_user, login, removal):
    first = sign_up(make_user, login, "first", role="admin")
    second = sign_up(make_user, login, "second", role="admin")
    results = run_concurrently(
        app,
        [
            ("patch", "/api/v1/users/second", {"json": removal, "headers": first}),
            ("patch", "/api/v1/users/first", {"json": removal, "headers": second}),
        ],
    )
    winner, loser = sorted(r.status_code for r in results)
    assert winner == 200
    # 409 when both requests got past the role check (PostgreSQL's row locks decide);
    # 403 or 401 when the other's commit came first: the loser is no active admin now.
    assert loser in {401, 403, 409}
    assert active_admins(app) == 1


def test_an_admin_may_still_deactivate_someone_else(client, admin, make_user, login):
    make_user("alice")
    token = login("alice")["access_token"]
    response = client.patch("/api/v1/users/alice", json={"is_active": False}, headers=admin)
    assert response.status_code == 200
    assert client.get("/auth/me", headers=bearer(token)).status_code == 401
