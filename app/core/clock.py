"""The one source of the current time, so tests can move the clock instead of sleeping."""

from datetime import UTC, datetime


def utcnow():
    return datetime.now(UTC)
