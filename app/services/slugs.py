"""URL slugs derived from titles and names."""

import re
import secrets
import unicodedata

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db

MAX_BASE = 200
# Path segments a route uses beside a slug (/api/articles/feed): never a slug.
RESERVED = {"feed"}


def slugify(text, fallback):
    """Lower-case ASCII words joined by hyphens; always contains a letter."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:MAX_BASE].strip("-")
    if not re.search(r"[a-z]", slug):
        slug = f"{fallback}-{slug}" if slug else fallback
    return slug


ATTEMPTS = 5


def add_with_unique_slug(obj, text, fallback):
    """Add `obj` with a slug for `text` that no other row has.

    The plain slug when it is free, else one with a short random suffix. Two
    requests racing for the same free slug both pass the check; the loser's
    INSERT fails on the unique index inside a savepoint and retries with a
    suffix, so neither sees an error.
    """
    column = type(obj).slug
    base = slugify(text, fallback)
    taken = base in RESERVED or db.session.scalar(select(column).where(column == base)) is not None
    for attempt in range(ATTEMPTS):
        obj.slug = f"{base}-{secrets.token_hex(3)}" if taken or attempt else base
        try:
            with db.session.begin_nested():
                db.session.add(obj)
                db.session.flush()
            return obj
        except IntegrityError:
            if attempt == ATTEMPTS - 1:
                raise
    return obj
