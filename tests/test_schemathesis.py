"""Schemathesis calls every operation in the spec with every check: the spec says
exactly what the server does.

For each operation it generates requests from the spec (valid ones, and invalid
ones where the spec allows) and checks every answer: no 5xx; a status, content
type, headers and body the operation documents; valid data accepted and invalid
data rejected; authentication enforced where documented; 405 with `Allow` for
other methods. One configuration (`CONFIG`), run twice over, anonymously and as
an admin:

- in-process (`schemathesis.openapi.from_wsgi`), on the suite's database: the
  examples, coverage and fuzzing phases;
- from outside, as a client would: the `schemathesis` CLI with `--checks all`
  against Folio under gunicorn (production configuration) on the same database,
  which adds the stateful phase (chains of calls following the spec's links)
  and the HTTP server's own answers (414, 431).

Every check runs; none is disabled and no operation is left out. Where the
server refuses a schema-valid request for a reason the spec cannot state, the
status is added to what `positive_data_acceptance` (or, once,
`negative_data_rejection`) expects, for those operations only, in `EXCEPTIONS`
with the reason.

The admin's token comes from tests/schemathesis_auth.py, a new one whenever an
answer is 401: Schemathesis calls `POST /auth/logout` with the token too, and
may change the admin's username or password through Conduit.

SCHEMATHESIS_MAX_EXAMPLES sets how many requests each operation gets in the
fuzzing phase (default 25); a longer run is `SCHEMATHESIS_MAX_EXAMPLES=1000 make test`.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from config import BASE_DIR
from tests.schemathesis_auth import AdminToken
from tests.servers import Gunicorn, production_env

pytestmark = pytest.mark.processes  # starts servers or other processes

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))
# In CI the CLI's examples are the same on every run, as Hypothesis's own "ci"
# profile makes the in-process tests (derandomize): a submission fails for what
# it changed, not for what a new random draw found. Locally each run explores
# new examples; a failure prints its seed, which SCHEMATHESIS_SEED replays.
CLI_SEED = os.environ.get("SCHEMATHESIS_SEED") or ("20261205" if os.environ.get("CI") else None)
ADMIN = "schemathesis"

# What each check expects: Schemathesis's defaults, plus the server's size limits
# (a request of valid values can still outgrow gunicorn's request line, 4094
# bytes, its header limits or MAX_CONTENT_LENGTH once escaped; an invalid one,
# such as a body past its maxLength, may be refused for its size before its
# fields are read).
SERVER_LIMITS = ["413", "414", "431"]
VALID_DATA_ANSWERS = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
INVALID_DATA_ANSWERS = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428"]
EXPECTED = {
    "positive_data_acceptance": [*VALID_DATA_ANSWERS, *SERVER_LIMITS],
    "negative_data_rejection": [*INVALID_DATA_ANSWERS, "429", "5xx", *SERVER_LIMITS],
}

LISTS_WITH_CURSORS = (
    r"^GET /api/v1/(posts|feed|categories|tags|users)"
    r"(/\{(reference|username)\}/(comments|followers|following))?$"
)
CREATES_WITH_KEYS = r"^POST /api/v1/(posts|categories|posts/\{reference\}/comments)$"
IF_MATCH = (
    r"^(PATCH|DELETE) /api/v1/(posts/\{reference\}|categories/\{slug\}|comments/\{comment_id\})$"
)
FOLLOW = r"^POST /api/(v1/users|profiles)/\{username\}/follow$"
VALID, INVALID = "positive_data_acceptance", "negative_data_rejection"

# Where the server answers otherwise for a reason the spec cannot state:
# (check, operations as a regex over "METHOD /path", statuses it also expects, why).
EXCEPTIONS = [
    (VALID, LISTS_WITH_CURSORS, ["400"], "a cursor of the right characters fails its signature"),
    (VALID, CREATES_WITH_KEYS, ["422"], "an Idempotency-Key reused with another body (API.md)"),
    (VALID, IF_MATCH, ["412"], "an If-Match tag that is not the resource's current one"),
    (VALID, r"^PATCH /api/v1/posts/\{reference\}$", ["422"], "`category` names no category"),
    (VALID, r"^POST /auth/(register|password)$", ["422"], "a password equal to the username"),
    (VALID, FOLLOW, ["422"], "following yourself"),
    (VALID, r"^POST /auth/(password/reset|email/verify)$", ["400"], "a token no mail carried"),
    (VALID, r"^POST /auth/password/reset$", ["422"], "a password equal to the username"),
    (VALID, r"^(POST /api/users|PUT /api/user)$", ["422"], "a taken name (RealWorld: 422)"),
    (INVALID, r"^PUT /api/user$", ["200"], "an empty password means unchanged (Conduit)"),
]


def toml_list(values):
    return "[" + ", ".join(f'"{value}"' for value in values) + "]"


def schemathesis_toml():
    """The configuration both runs share, as the CLI reads it from a file."""
    lines = []
    for check, statuses in EXPECTED.items():
        lines += [f"[checks.{check}]", f"expected-statuses = {toml_list(statuses)}"]
    for check, name_regex, statuses, _why in EXCEPTIONS:
        lines += [
            "[[operations]]",
            f"include-name-regex = '{name_regex}'",
            f"checks.{check}.expected-statuses = {toml_list(EXPECTED[check] + statuses)}",
        ]
    return "\n".join(lines) + "\n"


# Schemathesis's own wrong logins must not lock the admin's account or address.
GENEROUS_LOGIN_LIMITS = {
    "RATELIMIT_LOGIN_PER_ACCOUNT": "100000/minute",
    "RATELIMIT_LOGIN_PER_ADDRESS": "100000/minute",
}


@pytest.fixture
def admin_account(make_user):
    make_user(ADMIN, role="admin")


def in_process_schema(make_app):
    # In process, Schemathesis reads bodies as the app writes them, undecoded: the
    # gzip an `Accept-Encoding` header asks for is tested in test_compression.py
    # (and the CLI, over HTTP, decodes it).
    app = make_app(APP_COMPRESS=False, **GENEROUS_LOGIN_LIMITS)
    config = SchemathesisConfig.from_str(schemathesis_toml())
    return schemathesis.openapi.from_wsgi("/openapi.json", app, config=config)


@pytest.fixture
def anonymous_schema(make_app):
    return in_process_schema(make_app)


@pytest.fixture
def admin_schema(make_app, admin_account):
    schema = in_process_schema(make_app)
    schema.auth.auth()(AdminToken)
    return schema


anonymously = schemathesis.pytest.from_fixture("anonymous_schema")
as_an_admin = schemathesis.pytest.from_fixture("admin_schema")
conformance = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,  # database round trips vary, on PostgreSQL most of all
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.mark.slow
@anonymously.parametrize()
@conformance
def test_every_operation_conforms_to_the_spec_anonymously(case):
    case.call_and_validate()


@pytest.mark.slow
@as_an_admin.parametrize()
@conformance
def test_every_operation_conforms_to_the_spec_as_an_admin(case):
    case.call_and_validate()


# From outside: the CLI against gunicorn.


@pytest.fixture
def gunicorn(database, database_url, tmp_path):
    """Folio under gunicorn, on the suite's database (its tables made by `database`)."""
    env = production_env(
        DATABASE_URL=database_url,
        RATELIMIT_DEFAULT="1000000/minute",  # thousands of requests in a minute are the point
        # Registration hashes each password: the same argon2id, cheaper.
        ARGON2_TIME_COST=1,
        ARGON2_MEMORY_KIB=1024,
        ARGON2_PARALLELISM=1,
        **GENEROUS_LOGIN_LIMITS,
    )
    server = Gunicorn(env, tmp_path / "gunicorn.log").start()
    yield server
    server.stop()


def run_cli(server, tmp_path, *, as_admin=False):
    """`schemathesis run --checks all` against the server; (exit status, its report)."""
    config_file = tmp_path / "schemathesis.toml"
    config_file.write_text(schemathesis_toml())
    env = {**server.env, "PYTHONPATH": str(BASE_DIR)}
    if as_admin:
        env["SCHEMATHESIS_HOOKS"] = "tests.schemathesis_auth"
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        f"--config-file={config_file}",
        "--no-color",
        "run",
        f"http://127.0.0.1:{server.port}/openapi.json",
        "--checks=all",
        f"--max-examples={MAX_EXAMPLES}",
        "--workers=1",
        *([f"--seed={CLI_SEED}"] if CLI_SEED else []),
    ]
    # cwd: the CLI keeps a cache directory where it runs.
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.slow
def test_the_cli_with_every_check_finds_nothing_anonymously(gunicorn, tmp_path):
    status, report = run_cli(gunicorn, tmp_path)
    assert status == 0, report


@pytest.mark.slow
def test_the_cli_with_every_check_finds_nothing_as_an_admin(gunicorn, admin_account, tmp_path):
    status, report = run_cli(gunicorn, tmp_path, as_admin=True)
    assert status == 0, report
