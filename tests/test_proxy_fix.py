"""Behind a proxy, the client's address and scheme come from X-Forwarded-* headers.

Only as many hops as configured are trusted; with none configured the headers
are ignored, so a client cannot forge its address.
"""

import json

import pytest
from flask import request

from config import ProductionConfig

FORWARDED = {
    "X-Forwarded-For": "198.51.100.9, 203.0.113.7",  # a forged value, then the real client
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "api.example.com",
}


def seen_by(app):
    """What the app believes about the request, through a probe route."""

    @app.route("/probe/client")
    def client_view():
        return {"remote_addr": request.remote_addr, "scheme": request.scheme, "host": request.host}

    return app.test_client().get("/probe/client", headers=FORWARDED).get_json()


def test_forwarded_headers_are_ignored_by_default(make_app):
    assert seen_by(make_app()) == {
        "remote_addr": "127.0.0.1",
        "scheme": "http",
        "host": "localhost",
    }


def test_one_trusted_proxy_gives_the_client_address_it_saw(make_app):
    app = make_app(PROXY_FIX_X_FOR=1)
    assert seen_by(app)["remote_addr"] == "203.0.113.7"


def test_two_trusted_proxies_reach_one_hop_further(make_app):
    assert seen_by(make_app(PROXY_FIX_X_FOR=2))["remote_addr"] == "198.51.100.9"


def test_scheme_and_host_are_trusted_separately(make_app):
    seen = seen_by(make_app(PROXY_FIX_X_PROTO=1, PROXY_FIX_X_HOST=1))
    assert seen == {"remote_addr": "127.0.0.1", "scheme": "https", "host": "api.example.com"}


def test_the_access_log_names_the_client(make_app, capsys):
    make_app(PROXY_FIX_X_FOR=1).test_client().get("/health", headers=FORWARDED)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    [entry] = [line for line in lines if line.get("name") == "folio.access"]
    assert entry["remote_addr"] == "203.0.113.7"


@pytest.mark.parametrize("part", ["FOR", "PROTO", "HOST", "PORT", "PREFIX"])
def test_hops_are_read_from_the_environment_and_default_to_zero(part):
    assert getattr(ProductionConfig({}), f"PROXY_FIX_X_{part}") == 0
    assert getattr(ProductionConfig({f"PROXY_FIX_X_{part}": "1"}), f"PROXY_FIX_X_{part}") == 1
