"""URL slugs derived from titles and names.

A post's slug always ends in a random suffix (`hello-world-3fa9c2`). A slug
that was plain when free and suffixed when taken told its author whether
someone else had a post of that title, drafts included, which they cannot
otherwise see; with a suffix every time, the slug says nothing about other
posts. Categories are all public, so theirs stay plain until taken.
"""

import re
import secrets
import unicodedata

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db

MAX_BASE = 200
SUFFIX_BYTES = 3  # six hex digits after a hyphen
SUFFIX_LENGTH = 1 + 2 * SUFFIX_BYTES
# Path segments a route uses beside a slug (/api/articles/feed): never a slug.
RESERVED = {"feed"}


def slugify(text, fallback, max_length=MAX_BASE):
    """Lower-case ASCII words joined by hyphens, at most `max_length`; always contains a letter.

    NFKD can spell one character in several letters (the ligature "ﬃ" is
    "ffi", "㎒" is "MHz"), so the slug is cut after the spelling, not before.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = cut(re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()), max_length)
    if not re.search(r"[a-z]", slug):
        slug = cut(f"{fallback}-{slug}", max_length) if slug else fallback
    return slug


def cut(slug, max_length):
    return slug.strip("-")[:max_length].strip("-")


ATTEMPTS = 5


def add_with_unique_slug(obj, text, fallback, *, always_suffixed=False):
    """Add `obj` with a slug for `text` that no other row has, cut to fit its column.

    With `always_suffixed`, the slug always carries a short random suffix;
    otherwise it is plain when free and suffixed when taken. Two requests
    racing for the same slug both pass the check; the loser's INSERT fails on
    the unique index inside a savepoint and retries with another suffix, so
    neither sees an error.
    """
    column = type(obj).slug
    base = slugify(text, fallback, min(MAX_BASE, column.type.length - SUFFIX_LENGTH))
    taken = always_suffixed or base in RESERVED or slug_exists(column, base)
    for attempt in range(ATTEMPTS):
        obj.slug = f"{base}-{secrets.token_hex(SUFFIX_BYTES)}" if taken or attempt else base
        try:
            with db.session.begin_nested():
                db.session.add(obj)
                db.session.flush()
            return obj
        except IntegrityError:
            if attempt == ATTEMPTS - 1:
                raise
    return obj


def slug_exists(column, slug):
    return db.session.scalar(select(column).where(column == slug)) is not None
