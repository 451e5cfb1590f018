"""`make test`'s runner says in one line when the PostgreSQL test database is missing."""

import importlib.util

import pytest
from sqlalchemy.engine import make_url

from config import BASE_DIR
from tests.conftest import POSTGRES_URL

spec = importlib.util.spec_from_file_location("test_matrix", BASE_DIR / "tools" / "test_matrix.py")
test_matrix = importlib.util.module_from_spec(spec)
spec.loader.exec_module(test_matrix)

pytestmark = pytest.mark.postgres


def test_a_missing_test_database_is_one_line_with_the_command_that_makes_it():
    url = make_url(POSTGRES_URL).set(database="folio_no_such_database")
    line = test_matrix.missing_database(url.render_as_string(hide_password=False))
    assert "'folio_no_such_database' does not exist" in line
    assert "createdb" in line and "\n" not in line


def test_the_configured_test_database_is_not_missing():
    assert test_matrix.missing_database(POSTGRES_URL) is None
