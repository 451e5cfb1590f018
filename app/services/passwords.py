"""Password hashing with argon2id (argon2-cffi).

Parameters come from the app config (production: argon2-cffi's RFC 9106
low-memory profile, 64 MiB and 3 passes; testing: cheap ones so the suite stays
fast). `verify` takes the same time whether or not the account exists: for an
unknown account it checks the password against a dummy hash made with the
same parameters, so response times do not reveal which logins are real.
"""

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app


@cache
def _hasher(time_cost, memory_kib, parallelism):
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


@cache
def _dummy_hash(hasher):
    return hasher.hash("folio-dummy-password-for-timing")


def hasher():
    config = current_app.config
    return _hasher(
        config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_KIB"], config["ARGON2_PARALLELISM"]
    )


def hash_password(password):
    return hasher().hash(password)


def verify_password(password_hash, password):
    """True when `password` matches; `password_hash=None` burns the same time and fails."""
    ph = hasher()
    try:
        return ph.verify(password_hash or _dummy_hash(ph), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash):
    return hasher().check_needs_rehash(password_hash)
