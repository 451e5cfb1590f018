"""Schemathesis calls every operation in the generated spec, in-process.

For each operation it generates requests from the spec (valid ones and, where
the spec allows, invalid ones) and checks each answer: no 5xx, a status code
the operation documents, the documented content type, headers and body
schema. It runs on whatever database the suite runs on (SQLite, and
PostgreSQL in `make test`), against a fresh app whose spec is read from its
own /openapi.json.

SCHEMATHESIS_MAX_EXAMPLES sets how many requests each operation gets
(default 25); a longer run is `SCHEMATHESIS_MAX_EXAMPLES=1000 make test`.
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))


@pytest.fixture
def api_schema(make_app):
    return schemathesis.openapi.from_wsgi("/openapi.json", make_app())


@pytest.fixture
def admin_headers(make_user, login):
    """An admin's bearer token, so protected operations run past their 401 and 403."""
    make_user("schemathesis", role="admin")
    return {"Authorization": f"Bearer {login('schemathesis')['access_token']}"}


schema = schemathesis.pytest.from_fixture("api_schema")
conformance = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,  # database round trips vary, on PostgreSQL most of all
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
# Opaque values (cursors, slugs, usernames) are valid by the schema yet may name
# nothing; 400 and 404 for them are documented, so "schema-valid data must be
# accepted" cannot hold here. Every other check runs.
EXCLUDED = [positive_data_acceptance]


@pytest.mark.slow
@schema.parametrize()
@conformance
def test_every_operation_conforms_to_the_spec_anonymously(case):
    case.call_and_validate(excluded_checks=EXCLUDED)


@pytest.mark.slow
@schema.parametrize()
@conformance
def test_every_operation_conforms_to_the_spec_as_an_admin(case, admin_headers):
    case.call_and_validate(headers=admin_headers, excluded_checks=EXCLUDED)
