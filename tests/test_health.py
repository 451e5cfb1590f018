"""Liveness and readiness."""

import pytest

from tests.servers import free_port


def test_liveness(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_readiness_checks_the_database(make_app):
    response = make_app(REDIS_URL=None).test_client().get("/health/ready")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok"}


def test_readiness_is_503_naming_the_database_when_it_is_down(make_app):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/folio"
    app = make_app(SQLALCHEMY_DATABASE_URI=url, DB_CONNECT_TIMEOUT_S=1, REDIS_URL=None)
    response = app.test_client().get("/health/ready")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["checks"]["database"] == "down"
    assert "database" in body["detail"]


def test_readiness_is_503_naming_redis_when_it_is_down(make_app):
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    response = app.test_client().get("/health/ready")
    assert response.status_code == 503
    body = response.get_json()
    assert body["checks"] == {"database": "ok", "redis": "down"}
    assert "redis" in body["detail"]


@pytest.mark.redis
def test_readiness_checks_redis_when_configured(make_app):
    import os

    app = make_app(REDIS_URL=os.environ["REDIS_URL"])
    response = app.test_client().get("/health/ready")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok", "redis": "ok"}
