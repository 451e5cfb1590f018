"""GET /metrics: Prometheus text, requests by endpoint/method/status, the pool gauge.

Metrics live for the whole process (as in production), so every test reads
them before and after and checks the difference.
"""

import random
import string

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from app.extensions import db as _db
from tests.test_errors import assert_problem

TOKEN = "scrape-me-0123456789"


def scrape(client, **headers):
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def requests(samples, method, endpoint, status):
    return value(
        samples, "folio_http_requests_total", method=method, endpoint=endpoint, status=status
    )


@pytest.fixture
def app(make_app):
    app = make_app()

    @app.route("/probe/items/<int:item_id>")
    def item(item_id):
        return {"id": item_id}

    return app


def test_metrics_are_prometheus_text(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    names = {family.name for family in text_string_to_metric_families(response.get_data(True))}
    assert {
        "folio_http_requests",
        "folio_http_request_duration_seconds",
        "folio_db_pool_checked_out_connections",
    } <= names


def test_requests_are_counted_by_method_endpoint_and_status(client):
    before = scrape(client)
    client.get("/health")
    client.get("/health")
    client.delete("/health")
    after = scrape(client)
    assert requests(after, "GET", "/health", "200") - requests(before, "GET", "/health", "200") == 2
    # A wrong method matches no rule either: werkzeug fails the match as a whole.
    assert (
        requests(after, "DELETE", "unmatched", "405")
        - requests(before, "DELETE", "unmatched", "405")
        == 1
    )


def test_latency_is_a_histogram_per_endpoint(client):
    labels = {"method": "GET", "endpoint": "/health", "status": "200"}
    before = scrape(client)
    client.get("/health")
    after = scrape(client)
    count = "folio_http_request_duration_seconds_count"
    assert value(after, count, **labels) - value(before, count, **labels) == 1
    assert value(after, "folio_http_request_duration_seconds_bucket", le="+Inf", **labels) == (
        value(after, count, **labels)
    )


def test_endpoints_are_url_rules_not_raw_paths(client):
    """Cardinality stays bounded: ids and unknown URLs do not make new series."""
    for path in ("/probe/items/1", "/probe/items/2", "/no/such/thing/1", "/no/such/thing/2"):
        client.get(path)
    samples = scrape(client)
    endpoints = {dict(labels).get("endpoint") for name, labels in samples}
    assert "/probe/items/<int:item_id>" in endpoints
    assert "unmatched" in endpoints
    assert not {e for e in endpoints if e and ("/1" in e or "/2" in e or "/no/" in e)}


def test_pool_gauge_counts_connections_in_use(app, client):
    gauge = "folio_db_pool_checked_out_connections"
    with app.app_context():
        engine = _db.engine
    idle = value(scrape(client), gauge)
    with engine.connect():
        assert value(scrape(client), gauge) == idle + 1
    assert value(scrape(client), gauge) == idle


def test_pool_gauge_counts_only_the_apps_own_connections(app, client):
    gauge = "folio_db_pool_checked_out_connections"
    elsewhere = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
    idle = value(scrape(client), gauge)
    with elsewhere.connect():
        assert value(scrape(client), gauge) == idle
    elsewhere.dispose()


def test_metrics_are_open_without_a_token(client):
    assert client.get("/metrics").status_code == 200


def test_metrics_token_is_required_when_set(make_app):
    client = make_app(METRICS_TOKEN=TOKEN).test_client()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = client.get("/metrics", headers=headers)
        assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"].lower().startswith("bearer")
        assert "folio_http" not in response.get_data(as_text=True)
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_metrics_are_in_the_openapi_document(client):
    spec = client.get("/openapi.json").get_json()
    assert "get" in spec["paths"]["/metrics"]


def series(samples):
    return set(samples)


def send_random_requests(client, chance, count=300):
    for _ in range(count):
        method = "".join(chance.choices(string.ascii_uppercase, k=chance.randint(3, 12)))
        path = chance.choice(["/health", "/metrics", "/api/v1/posts", "/"]) + "/".join(
            chance.choices(string.ascii_lowercase, k=chance.randint(0, 8))
        )
        client.open(path, method=method)
        client.get(f"/no/such/{chance.randrange(10**9)}")


def test_random_methods_and_paths_do_not_grow_the_scrape(client):
    """Labels come from closed sets: any other method is `other`, any unknown path
    `unmatched`; 300 more random requests add no series at all."""
    chance = random.Random(6)
    send_random_requests(client, chance)
    first = scrape(client)
    send_random_requests(client, chance)
    second = scrape(client)
    assert series(second) == series(first)
    methods = {dict(labels).get("method") for _, labels in second} - {None}
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}


def test_an_unknown_method_is_counted_as_other(client):
    before = scrape(client)
    client.open("/health", method="BREW")
    after = scrape(client)
    assert (
        requests(after, "other", "unmatched", "405") - requests(before, "other", "unmatched", "405")
        == 1
    )
