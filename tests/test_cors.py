"""Browser clients: CORS preflights and headers, origins from CORS_ORIGINS."""

import pytest

from config import ConfigError, DevelopmentConfig, ProductionConfig

APP_ORIGIN = "https://app.example.com"
OTHER_ORIGIN = "https://evil.example.net"
EXPOSED = {
    "ETag",
    "Link",
    "Location",
    "X-Request-ID",
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
}
STRONG = "s" * 32


def preflight(client, origin, method="PATCH", headers="Authorization, If-Match"):
    return client.options(
        "/health",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
    )


def header_set(response, name):
    return {value.strip() for value in response.headers.get(name, "").split(",") if value.strip()}


@pytest.fixture
def one_origin_client(make_app):
    return make_app(CORS_ORIGINS=[APP_ORIGIN]).test_client()


def test_preflight_allows_the_api_request_headers(client):
    requested = (
        "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-ID"
    )
    response = preflight(client, APP_ORIGIN, headers=requested)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert header_set(response, "Access-Control-Allow-Headers") == {
        name.strip() for name in requested.split(",")
    }
    assert "PATCH" in header_set(response, "Access-Control-Allow-Methods")
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_preflight_leaves_out_headers_the_api_does_not_take(client):
    response = preflight(client, APP_ORIGIN, headers="Authorization, X-Debug-Everything")
    assert header_set(response, "Access-Control-Allow-Headers") == {"Authorization"}


def test_wildcard_is_sent_as_a_wildcard_not_an_echo(client):
    response = client.get("/health", headers={"Origin": OTHER_ORIGIN})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Origin" not in response.vary


def test_clients_can_read_the_headers_they_need(client):
    response = client.get("/health", headers={"Origin": APP_ORIGIN})
    assert header_set(response, "Access-Control-Expose-Headers") == EXPOSED


def test_error_responses_are_readable_cross_origin(client):
    response = client.get("/nowhere", headers={"Origin": APP_ORIGIN})
    assert response.status_code == 404
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_same_origin_requests_get_no_cors_headers(client):
    assert "Access-Control-Allow-Origin" not in client.get("/health").headers


def test_a_configured_origin_is_allowed(one_origin_client):
    response = one_origin_client.get("/health", headers={"Origin": APP_ORIGIN})
    assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert "Origin" in response.vary
    preflight_response = preflight(one_origin_client, APP_ORIGIN)
    assert preflight_response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN


def test_other_origins_are_not_allowed(one_origin_client):
    response = one_origin_client.get("/health", headers={"Origin": OTHER_ORIGIN})
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Origin" not in preflight(one_origin_client, OTHER_ORIGIN).headers


def test_answers_vary_on_origin_even_without_one(one_origin_client):
    """A cache must not hand an answer made for a same-origin caller to a browser."""
    assert "Origin" in one_origin_client.get("/health").vary


def test_production_allows_no_origin_by_default(make_app):
    config = ProductionConfig(
        {"SECRET_KEY": STRONG, "JWT_SECRET_KEY": STRONG, "DATABASE_URL": "sqlite://"}
    )
    assert config.CORS_ORIGINS == []
    client = make_app(CORS_ORIGINS=config.CORS_ORIGINS).test_client()
    assert "Access-Control-Allow-Origin" not in preflight(client, APP_ORIGIN).headers
    assert (
        "Access-Control-Allow-Origin"
        not in client.get("/health", headers={"Origin": APP_ORIGIN}).headers
    )


def test_development_allows_any_origin():
    assert DevelopmentConfig({}).CORS_ORIGINS == ["*"]


def test_origins_are_read_as_a_comma_separated_list():
    config = DevelopmentConfig({"CORS_ORIGINS": f" {APP_ORIGIN}/, http://localhost:3000 ,"})
    assert config.CORS_ORIGINS == [APP_ORIGIN, "http://localhost:3000"]


@pytest.mark.parametrize("bad", ["app.example.com", "https://app.example.com/path", "https://*.x"])
def test_an_origin_that_could_never_match_is_refused(bad):
    with pytest.raises(ConfigError, match="CORS_ORIGINS"):
        ProductionConfig({"CORS_ORIGINS": bad})
