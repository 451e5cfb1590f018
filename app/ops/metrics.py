"""Prometheus metrics at GET /metrics: every request, and the database pool.

Requests are counted and timed by method, endpoint and status, and every
label comes from a closed set, so no client can grow the number of series:
the endpoint is the URL rule (`/api/v1/posts/<post>`), never the raw path (a
request that matched no rule is `unmatched`); the method is one of HTTP's
usual seven, any other is `other` (300 invented methods on /health once grew a
scrape from 4.6 KB to 657 KB); the status is the one Folio answered.

gunicorn runs several worker processes, each with its own counters. When
`PROMETHEUS_MULTIPROC_DIR` is set (gunicorn.conf.py sets it up and marks dead
workers), prometheus_client keeps every process's values in files there and a
scrape of any worker adds them all up. Without it (the dev server, the tests)
the process's own registry is served.

prometheus_client is used directly rather than through
prometheus-flask-exporter: the exporter registers its request hooks only on
the first app made in a process (later app factories silently get none), its
request counter has no endpoint label, and its endpoint would sit outside the
OpenAPI document and the problem-details errors.

`METRICS_TOKEN`, when set, must be sent as `Authorization: Bearer <token>`.
"""

import hmac
import os

from flask import current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import event
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from app.core.api import Blueprint
from app.core.request_log import request_duration_s
from app.extensions import db

REQUEST_LABELS = ("method", "endpoint", "status")
UNMATCHED = "unmatched"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"

REQUESTS = Counter("folio_http_requests", "HTTP requests answered", REQUEST_LABELS)
LATENCY = Histogram(
    "folio_http_request_duration_seconds", "Time taken to answer HTTP requests", REQUEST_LABELS
)
# livesum: the connections in use across the workers that are alive now.
POOL_CHECKED_OUT = Gauge(
    "folio_db_pool_checked_out_connections",
    "Database connections checked out of the pool, in use by a request",
    multiprocess_mode="livesum",
)

TEXT_CONTENT = {"text/plain": {"schema": {"type": "string"}}}

blp = Blueprint("metrics", __name__, description="Prometheus metrics")


def record_request(response):
    endpoint = request.url_rule.rule if request.url_rule else UNMATCHED
    method = request.method if request.method in KNOWN_METHODS else OTHER_METHOD
    labels = (method, endpoint, str(response.status_code))
    REQUESTS.labels(*labels).inc()
    duration_s = request_duration_s()
    if duration_s is not None:
        LATENCY.labels(*labels).observe(duration_s)
    return response


# Keyed by connection record: SQLAlchemy also reports a check-in, without a
# check-out, when a connect attempt fails, so counting up and down would drift
# below zero during an outage.
_checked_out = set()


def on_checkout(dbapi_connection, connection_record, connection_proxy):
    _checked_out.add(id(connection_record))
    POOL_CHECKED_OUT.set(len(_checked_out))


def on_checkin(dbapi_connection, connection_record):
    _checked_out.discard(id(connection_record))
    POOL_CHECKED_OUT.set(len(_checked_out))


def watch_connection_pools(app):
    """Follow the app's own pools (not every pool in the process: Alembic's and
    test helpers' connections are not the service's)."""
    with app.app_context():
        for engine in db.engines.values():
            event.listen(engine.pool, "checkout", on_checkout)
            event.listen(engine.pool, "checkin", on_checkin)


def init_metrics(app):
    if "metrics" in app.config["BENCH_LAYERS_OFF"]:  # bench/layers.py only
        return
    app.after_request(record_request)


def init_pool_metrics(app):
    """After the database is set up (the app's engines exist from then on)."""
    if "metrics" not in app.config["BENCH_LAYERS_OFF"]:  # bench/layers.py only
        watch_connection_pools(app)


def registry():
    """The registry to serve: every worker's values in multiprocess mode."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    combined = CollectorRegistry()
    multiprocess.MultiProcessCollector(combined)
    return combined


def require_metrics_token():
    expected = current_app.config.get("METRICS_TOKEN")
    if not expected:
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthorized(
            "Send the metrics token as `Authorization: Bearer <token>`.",
            www_authenticate=WWWAuthenticate("bearer", {"realm": "metrics"}),
        )


@blp.route("/metrics")
@blp.response(200)
@blp.alt_response(401, description="METRICS_TOKEN is set and the request did not send it")
@blp.doc(responses={"200": {"description": "Prometheus text format", "content": TEXT_CONTENT}})
def metrics():
    """Prometheus metrics: requests by endpoint, method and status; the database pool."""
    require_metrics_token()
    return current_app.response_class(
        generate_latest(registry()),
        content_type=CONTENT_TYPE_LATEST,
        headers={"Cache-Control": "no-store"},
    )
