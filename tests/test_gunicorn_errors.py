"""gunicorn's own answers are problem details too.

A request gunicorn cannot parse (a garbled request line, a URL over
`limit_request_line`, too many or too large header fields, an unknown HTTP
version) is
answered by gunicorn before Folio sees it. These tests talk raw HTTP to a real
gunicorn configured by gunicorn.conf.py, as on a Procfile platform where no
nginx stands in front.
"""

import json

import pytest

from tests.servers import Gunicorn, exchange, production_env

pytestmark = pytest.mark.processes  # starts servers or other processes

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("gunicorn-errors")
    env = production_env(DATABASE_URL=f"sqlite:///{scratch / 'folio.db'}")
    server = Gunicorn(env, scratch / "gunicorn.log").start()
    yield server
    server.stop()


MALFORMED = {
    "garbled request line": (b"NONSENSE\r\n\r\n", 400, "Bad Request"),
    "URL over limit_request_line": (
        b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        414,
        "Request URI Too Long",
    ),
    "header field over limit_request_field_size": (
        b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
        431,
        "Request Header Fields Too Large",
    ),
    "more fields than limit_request_fields": (
        b"GET /health HTTP/1.1\r\nHost: x\r\n"
        + b"".join(b"X-N%d: 1\r\n" % n for n in range(150))
        + b"\r\n",
        431,
        "Request Header Fields Too Large",
    ),
    "unknown HTTP version": (b"GET /health HTTP/9.9\r\nHost: x\r\n\r\n", 400, "Bad Request"),
}


@pytest.mark.parametrize("raw, status, title", MALFORMED.values(), ids=MALFORMED.keys())
def test_requests_gunicorn_refuses_are_answered_as_problem_details(gunicorn, raw, status, title):
    answered, headers, body = exchange(gunicorn.port, raw)
    assert answered == status
    assert headers["content-type"] == PROBLEM
    assert int(headers["content-length"]) == len(body)
    problem = json.loads(body)
    assert problem["status"] == status
    assert problem["title"] == title
    assert problem["type"] == "about:blank"
    assert problem["detail"]


def test_gunicorn_still_serves_well_formed_requests(gunicorn):
    status, _, body = exchange(
        gunicorn.port, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    assert status == 200
    assert json.loads(body)["status"] == "ok"
