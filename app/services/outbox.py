"""The transactional outbox: account mail written with the change, delivered after it.

`add_message` puts a row in the request's session, so it is committed with the
change that causes it and rolled back with it. After the commit the session
hook below wakes delivery (OUTBOX_DELIVERY): a Celery task on the broker, or
inline in this process (development, no Redis). Losing that wake-up is fine:
the periodic sweep (`flask outbox send`, or the worker's beat) delivers
anything pending.

Delivery claims one row at a time in its own transaction (FOR UPDATE SKIP
LOCKED on PostgreSQL, so concurrent workers never take the same row; SQLite has
one writer), sends it, and marks it sent in that same transaction, only after
the SMTP server accepted it. A failure backs off exponentially. A worker killed
between the server's acceptance and the commit sends that one message again,
with the same Message-ID, which receiving servers and clients use to drop it.
"""

import logging
import smtplib
import uuid
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path

from flask import current_app, render_template
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.core.clock import utcnow
from app.extensions import db
from app.models import OutboxMessage

log = logging.getLogger("folio.mail")
WAKE_FLAG = "outbox_wake"


def add_message(to, subject, template, **context):
    """Render `template` (mail/<template>.txt and .html) for `to`, add the row to
    the session (committed with the caller's change), and wake delivery after
    the commit."""
    domain = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])[1].rpartition("@")[2]
    message = OutboxMessage(
        to=to,
        subject=subject,
        text=render_template(f"mail/{template}.txt", **context),
        html=render_template(f"mail/{template}.html", **context),
        message_id=f"<{uuid.uuid4().hex}@{domain or 'localhost'}>",
    )
    db.session.add(message)
    wake_after_commit()
    return message


def wake_after_commit():
    """Wake delivery once this session commits (not if it rolls back)."""
    db.session.info[WAKE_FLAG] = True


@event.listens_for(db.session, "after_commit")
def _wake_on_commit(session):
    if session.info.pop(WAKE_FLAG, False):
        wake(current_app._get_current_object())


@event.listens_for(db.session, "after_rollback")
def _forget_on_rollback(session):
    session.info.pop(WAKE_FLAG, None)


def wake(app):
    """Start delivery of whatever is pending, as OUTBOX_DELIVERY says. Never raises:
    the commit already happened, and the sweep delivers what a lost wake-up missed."""
    mode = app.config["OUTBOX_DELIVERY"]
    try:
        if mode == "celery":
            app.extensions["celery"].send_task(DELIVER_TASK)
        elif mode == "inline":
            deliver_pending(app)
    except Exception:
        log.warning("outbox wake-up failed; the sweep will deliver", exc_info=True)


DELIVER_TASK = "folio.outbox.deliver"


# --- delivery -----------------------------------------------------------------------


def deliver_pending(app, limit=None):
    """Deliver every due message once (each failure waits for its backoff, so a
    server that is down is tried once per sweep, not in a loop); returns how
    many were sent."""
    sent = 0
    after_id = 0
    with app.app_context(), Session(db.engine) as session:
        while limit is None or sent < limit:
            message = claim_next(session, after_id)
            if message is None:
                break
            after_id = message.id
            sent += deliver(app, session, message)
    return sent


def claim_next(session, after_id):
    """Lock the next due, unsent message with an id above `after_id` (or None).

    SKIP LOCKED: another worker's claim is left to it, never waited for."""
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.next_attempt_at <= utcnow(),
            OutboxMessage.id > after_id,
        )
        .order_by(OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return session.scalar(query)


def deliver(app, session, message):
    """Send one claimed message; commit it as sent, or its failure and next try. 1 if sent."""
    try:
        transport(app)(app, compose(app, message))
    except Exception as error:
        message.attempts += 1
        message.last_error = f"{type(error).__name__}: {error}"[:1000]
        message.next_attempt_at = utcnow() + backoff(app.config, message.attempts)
        session.commit()
        log.warning(
            "mail %s to %s failed (attempt %d)", message.message_id, message.to, message.attempts
        )
        return 0
    message.attempts += 1
    message.sent_at = utcnow()
    message.last_error = None
    session.commit()
    log.info("mail %s sent to %s", message.message_id, message.to)
    return 1


def backoff(config, attempts):
    """30 s, 60 s, 120 s, ... up to OUTBOX_RETRY_MAX_SECONDS (the defaults)."""
    base = config["OUTBOX_RETRY_BASE_SECONDS"]
    return timedelta(seconds=min(base * 2 ** (attempts - 1), config["OUTBOX_RETRY_MAX_SECONDS"]))


def compose(app, message):
    email = EmailMessage()
    email["From"] = app.config["MAIL_DEFAULT_SENDER"]
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Message-ID"] = message.message_id
    email["Date"] = format_datetime(message.created_at)
    email.set_content(message.text, cte=transfer_encoding(message.text))
    if message.html:
        email.add_alternative(message.html, subtype="html", cte=transfer_encoding(message.html))
    return email


def transfer_encoding(body):
    """7bit when the body allows it (ASCII, lines within SMTP's 998), so a link stays
    as it is in the raw message and in a .eml file, where quoted-printable would
    break it (`token=3D...`, soft line breaks); otherwise quoted-printable."""
    fits = body.isascii() and all(len(line) <= 998 for line in body.splitlines())
    return "7bit" if fits else "quoted-printable"


def transport(app):
    return send_smtp if app.config["MAIL_SERVER"] else write_file


def send_smtp(app, email):
    """Returns only when the server accepted the message (smtplib raises otherwise)."""
    config = app.config
    kind = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
    with kind(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT_S"]) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(email)


def write_file(app, email):
    """No MAIL_SERVER (development): the log and <MAIL_FILE_DIR>/<message-id>.eml."""
    directory = Path(app.config["MAIL_FILE_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{email['Message-ID'].strip('<>')}.eml"
    path.write_bytes(bytes(email))
    log.info(
        "mail to %s written to %s:\n%s", email["To"], path, email.get_body("plain").get_content()
    )
