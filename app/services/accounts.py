"""Accounts: registration, sign-in, profile and password changes, administration."""

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import User
from app.services import account_mail, outbox, passwords, tokens, users


class AccountConflict(Exception):
    """The email or username is already taken (case-insensitively)."""

    def __init__(self, fields):
        super().__init__(", ".join(fields))
        self.fields = fields


class WrongPassword(Exception):
    pass


class RecentSignInRequired(Exception):
    """Changing the email or password needs a fresh token or the current password."""


def taken_fields(*, username=None, email=None, exclude_id=None):
    """Which of username and email another account already uses."""
    conditions = []
    if username is None and email is None:
        return []
    if username is not None:
        conditions.append(func.lower(User.username) == username.lower())
    if email is not None:
        conditions.append(func.lower(User.email) == email.lower())
    query = select(User.username, User.email).where(or_(*conditions))
    if exclude_id is not None:
        query = query.where(User.id != exclude_id)
    taken = set()
    for other_username, other_email in db.session.execute(query):
        if username is not None and other_username.lower() == username.lower():
            taken.add("username")
        if email is not None and other_email.lower() == email.lower():
            taken.add("email")
    return sorted(taken)


def flush_or_conflict(**candidates):
    """Flush; a unique-index race becomes AccountConflict, never a 500."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise AccountConflict(taken_fields(**candidates) or list(candidates)) from None


def register(*, username, email, password, full_name=None, role="author"):
    if taken := taken_fields(username=username, email=email):
        raise AccountConflict(taken)
    user = User(
        username=username,
        email=email,
        password_hash=passwords.hash_password(password),
        full_name=full_name,
        role=role,
    )
    db.session.add(user)
    flush_or_conflict(username=username, email=email)
    account_mail.send_verification(user)  # committed with the account, or not at all
    return user


def find_by_login(login):
    """The user whose email or username is `login`, ignoring case."""
    lowered = login.lower()
    column = User.email if "@" in login else User.username
    return db.session.scalar(select(User).where(func.lower(column) == lowered))


def authenticate(login, password):
    """The active user these credentials name, or None; same cost either way."""
    user = find_by_login(login)
    valid = passwords.verify_password(user.password_hash if user else None, password)
    if not valid or not user.is_active:
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return user


def update_profile(user, changes):
    """Set profile fields; a username or email another account holds is AccountConflict."""
    unique = {name: changes[name] for name in ("username", "email") if name in changes}
    if taken := taken_fields(**unique, exclude_id=user.id):
        raise AccountConflict(taken)
    new_email = changes_email(user, changes)
    for name, value in changes.items():
        setattr(user, name, value)
    flush_or_conflict(**unique)
    if new_email:
        # The new address is unproven until its own link is used; links sent
        # to the old one stop working (they name the old address).
        user.email_verified = False
        account_mail.send_verification(user)
    return user


def changes_email(user, changes):
    return "email" in changes and changes["email"] != user.email


def request_password_reset(email):
    """Queue a reset mail if an active account has `email`; the same queries either way.

    Nothing about the answer may differ for an unknown address, so the caller
    answers alike and the delivery wake-up happens in both cases.
    """
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))
    if user is not None and user.is_active:
        account_mail.send_password_reset(user)
    else:
        account_mail.rehearse_password_reset(email)
        outbox.wake_after_commit()  # a wake-up follows either way


def reset_password(user, new_password):
    """Set the password of the user a reset token named; every session of theirs ends."""
    set_password(user, new_password, keep_family_id=None)
    return user


def verify_email(token):
    user = account_mail.spend_token(token, account_mail.VERIFY)
    user.email_verified = True
    return user


def check_recent_sign_in(user, token_claims, current_password=None):
    """Proof that the caller signed in recently, not merely holds a token.

    The email is where password resets go and the password is the account, so
    a stolen (or refreshed) token alone must not change them: the current
    password, when given, must be right; without it the token must be fresh.
    """
    if current_password is not None:
        if not passwords.verify_password(user.password_hash, current_password):
            raise WrongPassword
    elif not tokens.is_fresh(token_claims):
        raise RecentSignInRequired


def update_own_profile(user, changes, *, token_claims):
    """The owner's change of their profile: a new email needs a recent sign-in."""
    changes = dict(changes)
    current_password = changes.pop("current_password", None)
    if current_password is not None or changes_email(user, changes):
        check_recent_sign_in(user, token_claims, current_password)
    return update_profile(user, changes)


def change_password(user, *, current_password, new_password, keep_family_id):
    """Set a new password and sign out every other session of this user."""
    if not passwords.verify_password(user.password_hash, current_password):
        raise WrongPassword
    set_password(user, new_password, keep_family_id=keep_family_id)


def set_password(user, new_password, *, keep_family_id):
    """Set a new password without asking for the old one; other sessions are signed out.

    For callers whose contract has no current-password field (Conduit's
    PUT /api/user): the rule that a new password ends every other session holds
    all the same.
    """
    user.password_hash = passwords.hash_password(new_password)
    tokens.revoke_user_families(user.id, keep_family_id=keep_family_id)


class LastAdmin(Exception):
    """The change would leave no active admin, and nobody to repair it but an operator."""


def administer(user, changes):
    """An admin's change of role or active flag; deactivation signs the user out everywhere.

    Refuses (LastAdmin) to demote or deactivate the last active admin.
    """
    if changes:
        lock_active_admins()
    for name, value in changes.items():
        setattr(user, name, value)
    if changes and not any_active_admin():
        db.session.rollback()
        raise LastAdmin
    if changes.get("is_active") is False:
        tokens.revoke_user_families(user.id)
    return user


def lock_active_admins():
    """Lock the active admins' rows (PostgreSQL), in id order so that two requests
    cannot deadlock: of two admins demoting each other at once, the second waits,
    then counts after the first's commit. SQLite has no row locks; its write lock,
    taken by the UPDATE before any_active_admin counts, serialises the same way."""
    db.session.execute(
        select(User.id)
        .where(User.role == "admin", User.is_active.is_(True))
        .order_by(User.id)
        .with_for_update()
    )


def any_active_admin():
    """After the change is flushed: does an active admin remain?"""
    db.session.flush()
    admins = select(User.id).where(User.role == "admin", User.is_active.is_(True))
    return db.session.scalar(select(admins.exists()))


def users_query(viewer, *, role=None, is_active=None, q=None):
    query = users.with_counts(select(User), viewer)
    if role is not None:
        query = query.where(User.role == role)
    if is_active is not None:
        query = query.where(User.is_active == is_active)
    if q:
        needle = q.lower()
        query = query.where(
            or_(
                *(
                    func.lower(column).contains(needle, autoescape=True)
                    for column in (User.username, User.email, User.full_name)
                )
            )
        )
    return query
