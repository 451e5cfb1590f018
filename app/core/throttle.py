"""Throttles for the endpoints that hash or verify a password.

One argon2id hash costs about 0.3 CPU-seconds with the shipped parameters, so
these endpoints are the cheapest way to load the service, and the sign-in ones
are where passwords are guessed. Each such view takes ONE decorator from here:
`registration_throttle`, `login_throttle(login_of, find_account)`, `password_change_throttle`,
or `password_work()` for any other view that hashes (a password reset, say).

Bounding the work (every password endpoint, success or not):
- RATELIMIT_PASSWORD_PER_ADDRESS: requests that hash or verify a password, per
  client address, one counter for every such endpoint (successful sign-ins in
  a loop hash too); registration also counts against
  RATELIMIT_REGISTER_PER_ADDRESS, one counter for /auth/register and POST /api/users.
- `hash_slot`: at most PASSWORD_HASH_CONCURRENCY hashes at once; the next one
  is refused at once (503 + Retry-After) instead of queueing behind the CPU.
  Per process with threads (a semaphore), and across the processes of one host
  when PASSWORD_HASH_SLOTS_DIR names a directory (gunicorn.conf.py makes one):
  a slot is an flock'ed file there, released by the kernel if a worker dies.

Guessing (sign-in and password change; only failures count):
- per address (RATELIMIT_LOGIN_PER_ADDRESS), whatever the account;
- per account and address (RATELIMIT_LOGIN_PER_ACCOUNT);
- per account from every address (RATELIMIT_LOGIN_ACCOUNT_CEILING), except
  the addresses the account signed in from within LOGIN_KNOWN_ADDRESS_DAYS:
  an attacker elsewhere can exhaust the ceiling, not lock the owner out at home.
The account is the RESOLVED account (`user:<id>` whichever of email or username
and whatever letter case names it); a login no account has is keyed by its
normalised spelling, so unknown and real logins are throttled alike and the
answers reveal nothing. Counters are Flask-Limiter shared limits: one scope for
every route (no endpoint in the key), in Redis when REDIS_URL is set. Past a
limit every attempt is 429 with Retry-After, right password or not.
"""

import fcntl
import hashlib
import logging
import os
import threading
from contextlib import contextmanager
from functools import cache, wraps
from pathlib import Path

from flask import current_app, g, request
from flask_jwt_extended import current_user
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import ServiceUnavailable

from app.extensions import limiter

# A refused hash frees up within a hash's time: a second is a fair retry hint.
HASH_SLOT_RETRY_AFTER_S = 1
log = logging.getLogger("folio.throttle")


def config_value(name):
    return lambda: current_app.config[name]


def shared_counter(setting, scope, key_func, **options):
    """A Flask-Limiter limit read from the `setting` config key, one counter per key
    for every view it decorates (the endpoint is not part of the key), on top of
    the API-wide default rather than instead of it."""
    return limiter.shared_limit(
        config_value(setting), scope=scope, key_func=key_func, override_defaults=False, **options
    )


# --- bounding the work ---------------------------------------------------------------


class HashingBusy(ServiceUnavailable):
    description = "Too many passwords are being checked right now; try again in a moment."

    def __init__(self):
        super().__init__(retry_after=HASH_SLOT_RETRY_AFTER_S)
        # Flask-Limiter would raise Retry-After to its window's reset on a limited
        # route; rate_limits.keep_retry_after_for_refusals puts this one back.
        g.retry_after_s = HASH_SLOT_RETRY_AFTER_S


@cache
def _process_slots(capacity):
    """The per-process cap: threads of one server share it (dev server, gthread)."""
    return threading.BoundedSemaphore(capacity)


@contextmanager
def _host_slot(directory, capacity):
    """One of `capacity` flock'ed files in `directory`, or HashingBusy when all are held.

    A fresh descriptor per attempt: flock belongs to the open file, so a
    descriptor inherited across fork would be one lock shared by every worker.
    """
    Path(directory).mkdir(parents=True, exist_ok=True)
    for number in range(capacity):
        fd = os.open(Path(directory) / f"slot-{number}", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            yield
        finally:
            os.close(fd)  # releases the lock
        return
    raise HashingBusy


@contextmanager
def hash_slot():
    """Hold one of the PASSWORD_HASH_CONCURRENCY slots, never waiting for one."""
    config = current_app.config
    capacity = config["PASSWORD_HASH_CONCURRENCY"]
    slots = _process_slots(capacity)
    if not slots.acquire(blocking=False):
        raise HashingBusy
    try:
        if config["PASSWORD_HASH_SLOTS_DIR"]:
            with _host_slot(config["PASSWORD_HASH_SLOTS_DIR"], capacity):
                yield
        else:
            yield
    finally:
        slots.release()


def password_work(when=None):
    """For a view that hashes or verifies a password (only when `when()` is true, if given):
    the per-address ceiling on password work, then a hash slot around the view."""
    skip = (lambda: not when()) if when else None
    ceiling = shared_counter(
        "RATELIMIT_PASSWORD_PER_ADDRESS", "password-work", get_remote_address, exempt_when=skip
    )

    def decorate(view):
        @wraps(view)
        def in_hash_slot(*args, **kwargs):
            if when and not when():
                return view(*args, **kwargs)
            with hash_slot():
                return view(*args, **kwargs)

        return ceiling(in_hash_slot)

    return decorate


per_address_registrations = shared_counter(
    "RATELIMIT_REGISTER_PER_ADDRESS", "register", get_remote_address
)


def registration_throttle(view):
    """Account creation: registrations per address, and the password-work bounds."""
    return per_address_registrations(password_work()(view))


# --- guessing ----------------------------------------------------------------------


def failed(response):
    """A wrong password: 401 at sign-in, 403 for a password change."""
    return response.status_code in (401, 403)


# Longer client text (no email or username is) is keyed by its digest, so a body
# of a megabyte cannot become a megabyte key in Redis.
MAX_KEYED_TEXT = 320


def client_text_key(kind, text):
    """`kind:<text>`, trimmed and case-folded; past MAX_KEYED_TEXT, `kind:#<sha256>`."""
    normalised = text.strip().lower()
    if len(normalised) > MAX_KEYED_TEXT:
        digest = hashlib.sha256(normalised.encode("utf-8", "surrogatepass")).hexdigest()
        return f"{kind}:#{digest}"
    return f"{kind}:{normalised}"


def account_named(login, find_account):
    """`user:<id>` for the account `find_account(login)` finds (email or username, any
    case), else `login:<normalised login>`: unknown logins are counted the same way."""
    normalised = login.strip().lower()
    user = find_account(normalised) if 0 < len(normalised) <= MAX_KEYED_TEXT else None
    return f"user:{user.id}" if user else client_text_key("login", login)


def remembered_account(resolve):
    """`resolve()` once per request (it may query the database), then from `g`."""

    def account():
        if "throttle_account" not in g:
            g.throttle_account = resolve()
        return g.throttle_account

    return account


def known_address_key(account):
    prefix = current_app.config["RATELIMIT_KEY_PREFIX"]
    return f"{prefix}/known-address/{account}/{get_remote_address()}"


def counters():
    """The storage Flask-Limiter counts in right now (its memory fallback while Redis is away)."""
    return limiter.limiter.storage


def is_known_address(account):
    try:
        return counters().get(known_address_key(account)) > 0
    except Exception:  # storage away: treat as unknown, the other limits still hold
        log.warning("known-address lookup failed", exc_info=True)
        return False


def remember_address(account):
    """After a right password: this address is the account's own for a while.
    Cleared first so every sign-in starts the expiry afresh."""
    key = known_address_key(account)
    try:
        counters().clear(key)
        counters().incr(key, current_app.config["LOGIN_KNOWN_ADDRESS_DAYS"] * 24 * 3600)
    except Exception:
        log.warning("could not remember a sign-in address", exc_info=True)


def guessing_throttle(resolve, when=None):
    """The three failure counters for a view whose account `resolve()` names; with
    `when`, only for the requests for which `when()` is true (a password was sent)."""
    account = remembered_account(resolve)
    skip = (lambda: not when()) if when else None
    per_address = shared_counter(
        "RATELIMIT_LOGIN_PER_ADDRESS",
        "login-address",
        get_remote_address,
        deduct_when=failed,
        exempt_when=skip,
    )
    per_account_and_address = shared_counter(
        "RATELIMIT_LOGIN_PER_ACCOUNT",
        "login-account-address",
        lambda: f"{account()}@{get_remote_address()}",
        deduct_when=failed,
        exempt_when=skip,
    )
    account_ceiling = shared_counter(
        "RATELIMIT_LOGIN_ACCOUNT_CEILING",
        "login-account",
        account,
        deduct_when=failed,
        exempt_when=lambda: (skip is not None and skip()) or is_known_address(account()),
    )

    def decorate(view):
        @wraps(view)
        def remembering_success(*args, **kwargs):
            response = view(*args, **kwargs)
            checked = when is None or when()
            if checked and current_app.make_response(response).status_code < 300:
                remember_address(account())
            return response

        limited = password_work(when)(remembering_success)
        return per_address(per_account_and_address(account_ceiling(limited)))

    return decorate


def login_throttle(login_of, find_account):
    """For a sign-in view whose JSON body carries the login where `login_of(body)` looks;
    `find_account(login)` is the user that login names, or None (a service's lookup:
    the plumbing keys the counters, the accounts are the services' to find)."""

    def resolve():
        body = request.get_json(silent=True)
        login = login_of(body) if isinstance(body, dict) else None
        return account_named(login, find_account) if isinstance(login, str) else "login:"

    return guessing_throttle(resolve)


def current_password_sent():
    body = request.get_json(silent=True)
    return isinstance(body, dict) and "current_password" in body


def signed_in_account():
    return f"user:{current_user.id}"


# For a signed-in user confirming their password: apply inside auth_required.
password_change_throttle = guessing_throttle(signed_in_account)
# A profile change that may carry current_password (an email change with a stale token).
profile_change_throttle = guessing_throttle(signed_in_account, when=current_password_sent)


# --- mail ----------------------------------------------------------------------------
# Every request that may send account mail counts, whether or not a mail goes:
# an unknown address is limited exactly like a known one, so a 429 tells nothing.


def email_in_body():
    """`email:<normalised address>` from the JSON body; any other body shares one key."""
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    return client_text_key("email", email) if isinstance(email, str) else "email:"


def signed_in_email():
    return f"email:{current_user.email.lower()}"


def mail_throttle(email_of):
    """RATELIMIT_MAIL_PER_EMAIL for the address `email_of()` names, and
    RATELIMIT_MAIL_PER_ADDRESS per client address, for a view that may send mail."""
    per_email = shared_counter("RATELIMIT_MAIL_PER_EMAIL", "mail-email", email_of)
    per_address = shared_counter("RATELIMIT_MAIL_PER_ADDRESS", "mail-address", get_remote_address)
    return lambda view: per_address(per_email(view))


forgot_password_throttle = mail_throttle(email_in_body)
# Apply inside auth_required: the key is the signed-in user's address.
verification_resend_throttle = mail_throttle(signed_in_email)
