"""Shared field types (app/schemas/fields.py)."""

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.schemas.fields import UTCDateTime


def isoformat_in_utc(value, timespec):
    return value.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def some_datetimes(count=2000):
    chance = random.Random(8)
    for _ in range(count):
        microsecond = chance.choice([0, 1000 * chance.randint(0, 999), chance.randint(0, 999_999)])
        yield datetime(
            chance.randint(1, 9998),
            chance.randint(1, 12),
            chance.randint(1, 28),
            chance.randint(0, 23),
            chance.randint(0, 59),
            chance.randint(0, 59),
            microsecond,
            tzinfo=chance.choice([UTC, timezone(timedelta(hours=chance.randint(-12, 12)))]),
        )


@pytest.mark.parametrize("timespec", UTCDateTime.TIMESPECS)
def test_utc_datetimes_are_written_as_isoformat_would_in_utc_with_z(timespec):
    field = UTCDateTime(timespec=timespec)
    for value in some_datetimes():
        assert field.serialize("at", {"at": value}) == isoformat_in_utc(value, timespec)


def test_the_fraction_is_left_out_when_zero_unless_milliseconds_are_asked_for():
    value = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert UTCDateTime().serialize("at", {"at": value}) == "2026-01-02T03:04:05Z"
    milliseconds = UTCDateTime(timespec="milliseconds").serialize("at", {"at": value})
    assert milliseconds == "2026-01-02T03:04:05.000Z"
    assert UTCDateTime().serialize("at", {"at": None}) is None


def test_only_the_written_timespecs_are_accepted():
    with pytest.raises(ValueError, match="timespec"):
        UTCDateTime(timespec="minutes")


def test_stored_times_read_back_marked_utc(app, make_user):
    """On SQLite the column type marks them; on PostgreSQL the UTC session does."""
    make_user("alice")
    with app.app_context():
        user = db.session.scalars(select(User)).one()
        read = db.session.execute(select(User.created_at)).scalar_one()
        for value in (user.created_at, read):
            assert value.tzinfo is UTC
        assert abs(datetime.now(UTC) - read) < timedelta(minutes=5)
