"""URL slugs derived from titles and names."""

import re
import secrets
import unicodedata

from sqlalchemy import select

from app.extensions import db

MAX_BASE = 200


def slugify(text, fallback):
    """Lower-case ASCII words joined by hyphens; always contains a letter."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:MAX_BASE].strip("-")
    if not re.search(r"[a-z]", slug):
        slug = f"{fallback}-{slug}" if slug else fallback
    return slug


def unique_slug(column, text, fallback):
    """A slug for `text` not yet used in `column`: the plain one, else with a short suffix.

    A race between two identical titles is still caught by the unique index.
    """
    base = slugify(text, fallback)
    slug = base
    while db.session.scalar(select(column).where(column == slug)) is not None:
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug
