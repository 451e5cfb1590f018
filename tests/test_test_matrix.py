"""`make test`'s runner: one line when the PostgreSQL test database is missing, and the
branch coverage of both runs measured together and summarised at the end."""

import importlib.util

import pytest
from sqlalchemy.engine import make_url

from config import BASE_DIR
from tests.conftest import POSTGRES_URL

spec = importlib.util.spec_from_file_location("test_matrix", BASE_DIR / "tools" / "test_matrix.py")
test_matrix = importlib.util.module_from_spec(spec)
spec.loader.exec_module(test_matrix)


@pytest.mark.postgres
def test_a_missing_test_database_is_one_line_with_the_command_that_makes_it():
    url = make_url(POSTGRES_URL).set(database="folio_no_such_database")
    line = test_matrix.missing_database(url.render_as_string(hide_password=False))
    assert "'folio_no_such_database' does not exist" in line
    assert "createdb" in line and "\n" not in line


@pytest.mark.postgres
def test_the_configured_test_database_is_not_missing():
    assert test_matrix.missing_database(POSTGRES_URL) is None


def test_the_second_run_adds_to_the_first_runs_coverage():
    assert test_matrix.coverage_arguments([], appending=False) == ["--cov", "--cov-report="]
    assert test_matrix.coverage_arguments(["-x"], appending=True)[-1] == "--cov-append"


def test_no_cov_turns_measuring_off():
    assert test_matrix.coverage_arguments(["--no-cov"], appending=True) == []
    assert not test_matrix.measures_coverage(["-x", "--no-cov"])


REPORT = """\
Name             Stmts   Miss Branch BrPart  Cover
--------------------------------------------------
app/worst.py        10      9      2      0    10%
app/poor.py         10      5      2      0    50%
app/good.py         10      1      2      0    90%
app/best.py         10      0      2      0   100%
--------------------------------------------------
TOTAL               40     15      8      0    62%

2 empty files skipped.
"""


def test_the_summary_shows_the_least_covered_modules_and_the_total():
    lines = test_matrix.least_covered(REPORT, shown=2).splitlines()
    assert lines[0].startswith("Name") and lines[2].startswith("app/worst.py")
    assert lines[3].startswith("app/poor.py")
    assert lines[4] == "... 2 better-covered modules (`coverage report` lists them)"
    assert lines[-1].startswith("TOTAL") and len(lines) == 7


def test_a_short_report_is_shown_whole():
    summary = test_matrix.least_covered(REPORT, shown=10)
    assert "app/best.py" in summary and "better-covered" not in summary
