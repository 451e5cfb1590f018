"""Security headers on every response; a view or blueprint may bring its own CSP."""

import pytest
from flask import Blueprint

from config import ConfigError, ProductionConfig

JSON_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = "default-src 'self'; script-src 'self'; frame-ancestors 'none'"


@pytest.fixture
def app(make_app):
    """An app with a page that sets its own CSP, the way the docs blueprint will."""
    app = make_app()
    docs = Blueprint("docs_like", __name__, url_prefix="/page")

    @docs.after_request
    def docs_policy(response):
        response.headers["Content-Security-Policy"] = DOCS_CSP
        return response

    @docs.route("")
    def page():
        return "<!doctype html><title>docs</title>", 200, {"Content-Type": "text/html"}

    app.register_blueprint(docs)

    @app.route("/own-frame-policy")
    def own_frame_policy():
        return {}, 200, {"X-Frame-Options": "SAMEORIGIN"}

    return app


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/health", 200), ("GET", "/nowhere", 404), ("DELETE", "/health", 405)],
)
def test_every_response_carries_the_json_api_headers(client, method, path, status):
    response = client.open(path, method=method)
    assert response.status_code == status
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Content-Security-Policy"] == JSON_CSP


def test_no_hsts_over_plain_http(client):
    assert "Strict-Transport-Security" not in client.get("/health").headers


def test_hsts_when_served_over_https(make_app):
    response = make_app(PREFERRED_URL_SCHEME="https").test_client().get("/health")
    hsts = response.headers["Strict-Transport-Security"]
    assert hsts.startswith("max-age=") and int(hsts.split(";")[0].split("=")[1]) >= 31536000


def test_a_blueprint_keeps_its_own_content_security_policy(client):
    response = client.get("/page")
    assert response.headers["Content-Security-Policy"] == DOCS_CSP
    assert response.headers.getlist("Content-Security-Policy") == [DOCS_CSP]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_view_keeps_a_header_it_set(client):
    response = client.get("/own-frame-policy")
    assert response.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert response.headers["Content-Security-Policy"] == JSON_CSP


def test_url_scheme_is_checked():
    with pytest.raises(ConfigError, match="PREFERRED_URL_SCHEME"):
        ProductionConfig({"PREFERRED_URL_SCHEME": "htps"})
