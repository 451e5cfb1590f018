"""BENCH_LAYERS_OFF: the switches bench/layers.py turns per-request layers off with.

Off only when named: every environment's default keeps every layer on.
"""

import pytest

from app.ops.metrics import REQUESTS
from config import ConfigError, ProductionConfig
from tests.test_config import PRODUCTION


def tags_requests_counted():
    return REQUESTS.labels("GET", "/api/v1/tags", "200")._value.get()


def test_production_keeps_every_layer_on_by_default():
    assert not ProductionConfig(PRODUCTION).BENCH_LAYERS_OFF


def test_names_are_read_from_a_comma_separated_list():
    config = ProductionConfig({**PRODUCTION, "BENCH_LAYERS_OFF": " metrics, request_id ,"})
    assert sorted(config.BENCH_LAYERS_OFF) == ["metrics", "request_id"]


def test_an_unknown_layer_stops_the_start():
    with pytest.raises(ConfigError, match=r"^BENCH_LAYERS_OFF takes .*got limiter"):
        ProductionConfig({**PRODUCTION, "BENCH_LAYERS_OFF": "metrics,limiter"})


def test_every_layer_runs_by_default(app):
    before = tags_requests_counted()
    response = app.test_client().get("/api/v1/tags")
    assert response.status_code == 200
    assert response.headers["X-Request-ID"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert tags_requests_counted() == before + 1


def test_request_id_off(make_app):
    response = make_app(BENCH_LAYERS_OFF={"request_id"}).test_client().get("/api/v1/tags")
    assert response.status_code == 200
    assert "X-Request-ID" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_security_headers_off(make_app):
    response = make_app(BENCH_LAYERS_OFF={"security_headers"}).test_client().get("/api/v1/tags")
    assert response.status_code == 200
    assert "X-Content-Type-Options" not in response.headers
    assert "Content-Security-Policy" not in response.headers
    assert response.headers["X-Request-ID"]


def test_metrics_off(make_app):
    client = make_app(BENCH_LAYERS_OFF={"metrics"}).test_client()
    before = tags_requests_counted()
    assert client.get("/api/v1/tags").status_code == 200
    assert tags_requests_counted() == before
