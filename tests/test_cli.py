"""Operator commands: create-admin and purge-expired."""

from app.extensions import db
from app.models import User

PASSWORD = "an admin passphrase"


def admin_role(app, username):
    with app.app_context():
        return db.session.scalar(db.select(User.role).where(User.username == username))


def test_create_admin_reads_the_password_from_stdin(app, client):
    result = app.test_cli_runner().invoke(
        args=["create-admin", "root@example.com", "root", "--password-stdin"], input=PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    assert "Created admin root" in result.output
    assert admin_role(app, "root") == "admin"
    assert (
        client.post("/auth/login", json={"login": "root", "password": PASSWORD}).status_code == 200
    )


def test_create_admin_prompts_for_the_password(app):
    result = app.test_cli_runner().invoke(
        args=["create-admin", "root@example.com", "root"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert admin_role(app, "root") == "admin"


def test_create_admin_is_idempotent(app):
    runner = app.test_cli_runner()
    args = ["create-admin", "root@example.com", "root", "--password-stdin"]
    runner.invoke(args=args, input=PASSWORD + "\n")
    again = runner.invoke(args=args, input=PASSWORD + "\n")
    assert again.exit_code == 0
    assert "already an admin; nothing changed" in again.output
    with app.app_context():
        assert db.session.query(User).count() == 1


def test_create_admin_promotes_the_matching_account(app, make_user):
    make_user("alice")
    result = app.test_cli_runner().invoke(args=["create-admin", "alice@example.com", "alice"])
    assert result.exit_code == 0
    assert "now an admin" in result.output
    assert admin_role(app, "alice") == "admin"


def is_active(app, username):
    with app.app_context():
        return db.session.scalar(db.select(User.is_active).where(User.username == username))


def test_create_admin_reactivates_a_deactivated_admin(app, client, make_user):
    """The repair for an admin locked out: rerun create-admin for them."""
    make_user("root", role="admin", is_active=False)
    result = app.test_cli_runner().invoke(args=["create-admin", "root@example.com", "root"])
    assert result.exit_code == 0, result.output
    assert "root is now an admin and active again" in result.output
    assert is_active(app, "root") is True
    body = {"login": "root", "password": "correct horse battery staple"}
    assert client.post("/auth/login", json=body).status_code == 200


def test_create_admin_reactivates_and_promotes_a_deactivated_user(app, make_user):
    make_user("alice", is_active=False)
    result = app.test_cli_runner().invoke(args=["create-admin", "alice@example.com", "alice"])
    assert result.exit_code == 0, result.output
    assert "alice is now an admin and active again" in result.output
    assert (admin_role(app, "alice"), is_active(app, "alice")) == ("admin", True)


def test_create_admin_refuses_an_email_of_another_user(app, make_user):
    make_user("alice")
    result = app.test_cli_runner().invoke(args=["create-admin", "alice@example.com", "root"])
    assert result.exit_code == 1
    assert "belongs to another user" in result.output
    assert admin_role(app, "alice") == "author"


def test_create_admin_validates_the_password(app):
    result = app.test_cli_runner().invoke(
        args=["create-admin", "root@example.com", "root", "--password-stdin"], input="short\n"
    )
    assert result.exit_code == 1
    assert "password" in result.output
    assert admin_role(app, "root") is None


def test_purge_expired_reports_what_it_removed(app):
    result = app.test_cli_runner().invoke(args=["purge-expired"])
    assert result.exit_code == 0
    assert result.output.startswith("Removed 0 expired token rows and 0 idempotency records")


def test_purge_expired_removes_old_idempotency_records(app, client, make_user, login):
    from datetime import timedelta

    from app.core import clock
    from app.models import IdempotencyRecord

    make_user("alice")
    headers = {"Authorization": f"Bearer {login('alice')['access_token']}", "Idempotency-Key": "k1"}
    post = {"title": "Kept once", "body": "Text"}
    assert client.post("/api/v1/posts", json=post, headers=headers).status_code == 201
    runner = app.test_cli_runner()
    assert "and 0 idempotency records" in runner.invoke(args=["purge-expired"]).output
    with app.app_context():
        record = db.session.scalar(db.select(IdempotencyRecord))
        record.expires_at = clock.utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert "and 1 idempotency records" in runner.invoke(args=["purge-expired"]).output
    with app.app_context():
        assert db.session.query(IdempotencyRecord).count() == 0
