"""The declarative base every model shares, and the column types they use.

Constraint names follow one convention so Alembic can name, find and drop them
on both SQLite (batch mode) and PostgreSQL.
"""

from datetime import UTC

from sqlalchemy import DateTime, MetaData
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Model(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, on PostgreSQL and on SQLite alike.

    SQLite stores no offset and hands back naive values; this type refuses naive
    input and returns every value marked as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def result_processor(self, dialect, coltype):
        # PostgreSQL sessions run in UTC (database.engine_options): psycopg marks
        # each value with datetime.UTC itself, and a page of 20 posts would call
        # the check below 60 times for nothing (2% of a posts list's instructions).
        if dialect.name == "postgresql":
            return None
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value, dialect):
        if value is None or value.tzinfo is UTC:
            return value
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# (kind, name) of schema objects Alembic cannot compare faithfully (see hand_managed).
HAND_MANAGED = set()


def hand_managed(kind, name):
    """Mark a PostgreSQL-only column or index ("column" or "index", its name) that is
    not in the models' metadata: its DDL is written by hand (after_create events and
    the migration), Alembic's comparison skips it, and tests check it exists."""
    HAND_MANAGED.add((kind, name))


def include_in_autogenerate(obj, name, type_, reflected, compare_to):
    """Alembic's include_object hook: skip hand-managed columns and indexes."""
    return (type_, name) not in HAND_MANAGED
