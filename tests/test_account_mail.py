"""Account mail end to end, against a real SMTP server on a loopback port.

Delivery here is the sweep (`outbox.deliver_pending`, what `flask outbox send`
and the worker's beat run), called by the test; tests/test_mail_worker.py runs
the same flows through a real Celery worker on Redis.
"""

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import AccountToken, OutboxMessage, User
from app.services import outbox
from tests.conftest import PASSWORD, bearer
from tests.smtp_server import CapturingSMTP, token_in

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def smtp():
    server = CapturingSMTP().start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(make_app, smtp):
    # Retries due at once, so a test need not move the clock past a backoff.
    return make_app(**smtp.settings(), OUTBOX_RETRY_BASE_SECONDS=0)


@pytest.fixture
def mail_client(mail_app):
    return mail_app.test_client()


def sweep(app):
    return outbox.deliver_pending(app)


def settle(app, smtp):
    """Deliver what is pending (registration mail) and forget it: a clean slate."""
    sweep(app)
    smtp.clear()


def forgot(client, email, address="203.0.113.7"):
    return client.post(
        "/auth/password/forgot", json={"email": email}, environ_base={"REMOTE_ADDR": address}
    )


def test_a_password_reset_end_to_end(mail_app, mail_client, smtp, make_user, login):
    make_user("alice")
    settle(mail_app, smtp)
    old_sessions = [login("alice"), login("alice")]

    assert forgot(mail_client, "Alice@Example.com").status_code == 202
    assert sweep(mail_app) == 1
    [mail] = smtp.to("alice@example.com")
    assert mail["Subject"] == "Reset your Folio password"
    token = token_in(mail)
    assert "/account/reset-password?token=" in mail.get_body("plain").get_content()

    reset = {"token": token, "password": NEW_PASSWORD}
    assert mail_client.post("/auth/password/reset", json=reset).status_code == 204
    for pair in old_sessions:
        me = mail_client.get("/auth/me", headers=bearer(pair["access_token"]))
        assert me.status_code == 401
        refreshed = mail_client.post("/auth/refresh", headers=bearer(pair["refresh_token"]))
        assert refreshed.status_code == 401

    again = mail_client.post("/auth/password/reset", json={**reset, "password": "another one!"})
    assert again.status_code == 400
    assert again.content_type == "application/problem+json"
    assert login("alice", NEW_PASSWORD)["access_token"]
    old = mail_client.post("/auth/login", json={"login": "alice", "password": PASSWORD})
    assert old.status_code == 401


def test_a_reset_token_is_stored_hashed_and_expires(mail_app, mail_client, smtp, make_user):
    make_user("alice")
    settle(mail_app, smtp)
    forgot(mail_client, "alice@example.com")
    sweep(mail_app)
    token = token_in(smtp.to("alice@example.com")[0])
    with mail_app.app_context():
        stored = db.session.scalars(select(AccountToken.token_hash)).all()
        assert token not in stored and len(stored[0]) == 64
        db.session.execute(db.update(AccountToken).values(expires_at=func.now()))
        db.session.commit()
    reset = {"token": token, "password": NEW_PASSWORD}
    assert mail_client.post("/auth/password/reset", json=reset).status_code == 400


def test_email_verification_end_to_end(mail_app, mail_client, smtp):
    account = {"username": "vera", "email": "vera@example.com", "password": PASSWORD}
    assert mail_client.post("/auth/register", json=account).status_code == 201
    assert sweep(mail_app) == 1
    [mail] = smtp.to("vera@example.com")
    token = token_in(mail)
    assert "/account/verify-email?token=" in mail.get_body("plain").get_content()
    pair = mail_client.post("/auth/login", json={"login": "vera", "password": PASSWORD}).json
    headers = bearer(pair["access_token"])
    assert mail_client.get("/auth/me", headers=headers).json["email_verified"] is False

    assert mail_client.post("/auth/email/verify", json={"token": token}).status_code == 204
    assert mail_client.get("/auth/me", headers=headers).json["email_verified"] is True
    again = mail_client.post("/auth/email/verify", json={"token": token})
    assert again.status_code == 400
    resend = mail_client.post("/auth/email/verify/resend", headers=headers)
    assert resend.status_code == 409


def test_an_email_change_needs_verifying_again(mail_app, mail_client, smtp, make_user, login):
    make_user("alice")
    headers = bearer(login("alice")["access_token"])
    sweep(mail_app)
    first_token = token_in(smtp.to("alice@example.com")[0])

    changed = mail_client.patch("/auth/me", json={"email": "new@example.com"}, headers=headers)
    assert changed.status_code == 200 and changed.json["email_verified"] is False
    assert sweep(mail_app) == 1
    new_token = token_in(smtp.to("new@example.com")[0])
    # The link sent to the old address proves nothing about the new one.
    assert mail_client.post("/auth/email/verify", json={"token": first_token}).status_code == 400
    assert mail_client.post("/auth/email/verify", json={"token": new_token}).status_code == 204
    assert mail_client.get("/auth/me", headers=headers).json["email_verified"] is True


def test_resend_sends_another_verification_mail(mail_app, mail_client, smtp, make_user, login):
    make_user("alice")
    headers = bearer(login("alice")["access_token"])
    assert mail_client.post("/auth/email/verify/resend", headers=headers).status_code == 204
    assert sweep(mail_app) == 2
    tokens = [token_in(mail) for mail in smtp.to("alice@example.com")]
    assert len(set(tokens)) == 2
    assert mail_client.post("/auth/email/verify/resend").status_code == 401


def test_mail_waits_while_the_smtp_server_is_down(mail_app, mail_client, smtp, make_user):
    for name in ("ann", "ben", "cat", "dan", "eve"):
        make_user(name)
    smtp.stop()
    assert sweep(mail_app) == 0
    with mail_app.app_context():
        pending = db.session.scalars(select(OutboxMessage)).all()
        assert [m.attempts for m in pending] == [1] * 5
        assert all(m.sent_at is None and "Error" in m.last_error for m in pending)
    assert sweep(mail_app) == 0  # still down: tried again, nothing lost

    smtp.start()
    assert sweep(mail_app) == 5
    assert sweep(mail_app) == 0
    counts = smtp.message_ids()
    assert len(counts) == 5 and set(counts.values()) == {1}
    with mail_app.app_context():
        ids = set(db.session.scalars(select(OutboxMessage.message_id)))
        assert ids == set(counts)  # one Message-ID per message, kept across its retries


def test_a_failed_message_backs_off_exponentially(make_app, smtp, make_user):
    app = make_app(**smtp.settings(), OUTBOX_RETRY_BASE_SECONDS=30)
    make_user("alice")
    smtp.stop()
    sweep(app)
    assert sweep(app) == 0  # not due yet: the sweep skips it rather than hammer the server
    with app.app_context():
        message = db.session.scalar(select(OutboxMessage))
        assert message.attempts == 1
        waited = message.next_attempt_at - message.created_at
        assert 29 <= waited.total_seconds() <= 3600
    with app.app_context():
        assert outbox.backoff(app.config, 1).total_seconds() == 30
        assert outbox.backoff(app.config, 4).total_seconds() == 240
        assert (
            outbox.backoff(app.config, 40).total_seconds() == app.config["OUTBOX_RETRY_MAX_SECONDS"]
        )


def test_a_rolled_back_change_sends_nothing(mail_app, smtp, make_user):
    make_user("alice")
    sweep(mail_app)
    with mail_app.test_request_context(method="POST"):  # GETs read in autocommit
        user = db.session.scalar(select(User))
        from app.services import accounts

        accounts.request_password_reset(user.email)
        db.session.flush()
        db.session.rollback()
        assert outbox.WAKE_FLAG not in db.session.info
    assert sweep(mail_app) == 0
    assert len(smtp.messages) == 1  # the registration's, nothing since


def test_a_refused_email_change_sends_nothing(mail_app, mail_client, smtp, make_user):
    """An email another account holds: 409, and no verification mail to that address."""
    make_user("alice")
    make_user("bob")
    sweep(mail_app)
    headers = bearer(
        mail_client.post("/auth/login", json={"login": "alice", "password": PASSWORD}).json[
            "access_token"
        ]
    )
    taken = mail_client.patch("/auth/me", json={"email": "BOB@example.com"}, headers=headers)
    assert taken.status_code == 409
    assert sweep(mail_app) == 0
    with mail_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2


def test_without_a_mail_server_mail_goes_to_files(make_app, make_user, tmp_path, caplog):
    app = make_app(OUTBOX_DELIVERY="inline", MAIL_SERVER=None, MAIL_FILE_DIR=str(tmp_path))
    make_user("alice")
    caplog.set_level("INFO", logger="folio.mail")
    response = forgot(app.test_client(), "alice@example.com")
    assert response.status_code == 202
    files = list(tmp_path.glob("*.eml"))
    assert len(files) == 2  # the registration's verification (swept now) and the reset
    text = "".join(path.read_text() for path in files)
    assert "/account/reset-password?token=" in text
    assert "/account/reset-password?token=" in caplog.text


# --- abuse -----------------------------------------------------------------------------


def comparable(response):
    """Everything a client sees, less what differs per request anyway (the id, and
    the clock: a limit's reset time moves with each second)."""
    per_request = {"date", "x-request-id", "x-ratelimit-reset"}
    headers = {k: v for k, v in response.headers if k.lower() not in per_request}
    return response.status_code, response.get_data(), headers


def test_unknown_emails_are_indistinguishable(mail_app, mail_client, make_user):
    make_user("alice")
    known = forgot(mail_client, "alice@example.com", address="203.0.113.1")
    unknown = forgot(mail_client, "nobody@example.com", address="203.0.113.2")
    assert known.status_code == 202
    assert comparable(known) == comparable(unknown)


def test_repeated_forgot_for_one_email_is_limited_alike(mail_app, mail_client, make_user):
    make_user("alice")
    for email in ("alice@example.com", "nobody@example.com"):
        answers = [forgot(mail_client, email, address=f"198.51.100.{n}") for n in range(4)]
        assert [a.status_code for a in answers] == [202, 202, 202, 429]
        assert answers[-1].content_type == "application/problem+json"
        assert int(answers[-1].headers["Retry-After"]) > 0
    # Spelling the address differently is the same address.
    assert forgot(mail_client, " ALICE@example.com ").status_code in (400, 429)
    with mail_app.app_context():
        resets = select(func.count()).where(AccountToken.purpose == "password-reset")
        assert db.session.scalar(resets) == 3


def test_bad_bodies_are_problems_and_change_nothing(mail_client):
    for path, body in [
        ("/auth/password/forgot", {"email": "not an address"}),
        ("/auth/password/forgot", {}),
        ("/auth/password/reset", {"token": "x"}),
        ("/auth/password/reset", {"token": "x" * 200, "password": NEW_PASSWORD}),
        ("/auth/email/verify", {"token": ""}),
    ]:
        response = mail_client.post(path, json=body)
        assert response.status_code == 422, (path, body)
        assert response.content_type == "application/problem+json"
    unknown = mail_client.post("/auth/email/verify", json={"token": "no-such-token"})
    assert unknown.status_code == 400 and unknown.content_type == "application/problem+json"


def test_the_default_link_pages_are_served(mail_client):
    for path in ("/account/reset-password", "/account/verify-email"):
        page = mail_client.get(f"{path}?token=abc")
        assert page.status_code == 200 and page.content_type.startswith("text/html")
        assert "abc" not in page.get_data(as_text=True)  # the script reads it, not the server
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        assert page.headers["Cache-Control"] == "no-store"
    script = mail_client.get("/account/static/account.js")
    assert script.status_code == 200
    script.close()


def test_flask_outbox_send_delivers_what_is_pending(mail_app, smtp, make_user):
    make_user("alice")
    result = mail_app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 0 and "Sent 1 messages." in result.output
    assert [m["To"] for m in smtp.messages] == ["alice@example.com"]


def test_a_reset_to_the_email_is_refused_and_keeps_the_token(
    mail_app, mail_client, smtp, make_user
):
    make_user("alice")
    settle(mail_app, smtp)
    forgot(mail_client, "alice@example.com")
    sweep(mail_app)
    token = token_in(smtp.to("alice@example.com")[0])
    refused = mail_client.post(
        "/auth/password/reset", json={"token": token, "password": "alice@example.com"}
    )
    assert refused.status_code == 422
    reset = {"token": token, "password": NEW_PASSWORD}
    assert mail_client.post("/auth/password/reset", json=reset).status_code == 204


def test_a_link_copied_from_a_mail_file_works(make_app, make_user, tmp_path):
    """docs/mail.md's way under `make run`: grep the link out of instance/mail/*.eml.
    The raw file must carry it as is (no quoted-printable `=3D`, no soft breaks)."""
    app = make_app(OUTBOX_DELIVERY="inline", MAIL_SERVER=None, MAIL_FILE_DIR=str(tmp_path))
    make_user("alice")
    client = app.test_client()
    forgot(client, "alice@example.com")
    raw = "".join(path.read_text() for path in tmp_path.glob("*.eml"))
    link = re.findall(r"http://\S*reset-password\?token=[\w-]+", raw)[0]  # the plain part's
    reset = {"token": link.partition("token=")[2], "password": NEW_PASSWORD}
    assert client.post("/auth/password/reset", json=reset).status_code == 204


def statements_of(app, request):
    """The SQL verbs one request sends (SELECT, INSERT, SAVEPOINT, ...)."""
    sent = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement.split(None, 1)[0].upper())

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        request()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return sent


def test_an_unknown_email_costs_the_same_database_work(mail_app, mail_client, make_user):
    """No timing here (docs/authentication.md gives the figures): the unknown address writes
    and rolls back what a known one writes, so both commits wait for the disk."""
    make_user("alice")
    known = statements_of(mail_app, lambda: forgot(mail_client, "alice@example.com"))
    unknown = statements_of(mail_app, lambda: forgot(mail_client, "nobody@example.com"))
    assert "INSERT" in unknown
    assert abs(len(known) - len(unknown)) <= 1, (known, unknown)
    with mail_app.app_context():
        to_nobody = select(OutboxMessage).where(OutboxMessage.to == "nobody@example.com")
        assert db.session.scalars(to_nobody).all() == []


def test_purge_expired_removes_old_link_tokens_and_sent_mail(mail_app, smtp, make_user):
    make_user("alice")
    sweep(mail_app)
    runner = mail_app.test_cli_runner()
    kept = runner.invoke(args=["purge-expired"]).output
    assert "0 expired mail link tokens and 0 mails sent over a week ago" in kept
    with mail_app.app_context():
        long_ago = func.now() - timedelta(days=8)
        db.session.execute(db.update(AccountToken).values(expires_at=long_ago))
        db.session.execute(db.update(OutboxMessage).values(sent_at=long_ago))
        db.session.commit()
    gone = runner.invoke(args=["purge-expired"]).output
    assert "1 expired mail link tokens and 1 mails sent over a week ago" in gone
