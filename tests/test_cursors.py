"""psycopg cursors that describe their columns only when asked (app/core/cursors.py)."""

import pytest
from sqlalchemy import select, text

from app.core.cursors import DescribedOnDemand, LazyDescription
from app.extensions import db
from app.models import User

pytestmark = pytest.mark.postgres


@pytest.fixture
def dbapi_connection(app):
    with app.app_context(), db.engine.connect() as connection:
        yield connection.connection.dbapi_connection


def test_the_engine_hands_out_cursors_that_describe_on_demand(dbapi_connection):
    with dbapi_connection.cursor() as cursor:
        assert isinstance(cursor, DescribedOnDemand)


def test_a_lazy_description_reads_as_psycopgs_own(dbapi_connection):
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SELECT 1 AS one, 'x'::text AS letter, now() AS at")
        described = cursor.description
        assert isinstance(described, LazyDescription)
        own = super(DescribedOnDemand, cursor).description
        assert len(described) == 3
        assert [column.name for column in described] == ["one", "letter", "at"]
        assert [tuple(column) for column in described] == [tuple(column) for column in own]
        assert described[-1].type_code == own[-1].type_code


def test_a_statement_without_rows_has_no_description(dbapi_connection):
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 1000")
        assert cursor.description is None


def test_columns_cannot_be_read_from_a_result_the_cursor_has_left(dbapi_connection):
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SELECT 1 AS one")
        stale = cursor.description
        cursor.execute("SELECT 2 AS two, 3 AS three")
        with pytest.raises(RuntimeError, match="moved on"):
            stale[0]
        assert [column.name for column in cursor.description] == ["two", "three"]


def test_sqlalchemy_names_columns_from_it_on_first_and_cached_runs(app, make_user):
    make_user("alice")
    with app.app_context(), db.engine.connect() as connection:
        # text() is described afresh each time; a select from its cached layout.
        for _ in range(3):
            row = connection.execute(text("SELECT 41 + 1 AS answer")).one()
            assert row.answer == 42 and row._fields == ("answer",)
            user = connection.execute(select(User.id, User.username)).one()
            assert user.username == "alice" and user._fields == ("id", "username")
