"""A database that is down, unreachable, slow or out of connections answers 503.

Each case is a real failure (a closed port, a server that accepts TCP but never
answers, a full pool, a statement timeout, a killed connection), not a mock,
except the two driver errors that cannot be provoked on demand.
"""

import socket
import time

import pytest
from flask_smorest import Blueprint
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from app.core.errors import DATABASE_RETRY_AFTER_S
from app.extensions import api
from app.extensions import db as _db
from tests.servers import free_port
from tests.test_errors import assert_problem

# psycopg waits at least 2 s for a connection, whatever connect_timeout says.
CONNECT_TIMEOUT_S = 2


def register_probe(app):
    """Routes that touch the database the way a real endpoint would."""
    blp = Blueprint("db_probe", __name__, url_prefix="/probe")

    @blp.route("/db")
    def backend():
        value = _db.session.execute(text("SELECT 1")).scalar()
        pid = None
        if _db.engine.dialect.name == "postgresql":
            pid = _db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        return {"value": value, "backend_pid": pid}

    @blp.route("/slow")
    def slow():
        _db.session.execute(text("SELECT pg_sleep(2)"))
        return {}

    @blp.route("/lost-connection")
    def lost_connection():
        raise DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True)

    @blp.route("/driver-bug")
    def driver_bug():
        raise DBAPIError("SELECT nonsense", {}, Exception("syntax error"))

    api.register_blueprint(blp)
    return app


@pytest.fixture
def probe_app(make_app):
    def make(**overrides):
        return register_probe(make_app(**overrides))

    return make


@pytest.fixture
def silent_server():
    """A TCP port that accepts connections and never says a word, like a hung host."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def assert_database_unavailable(response):
    assert_problem(response, 503)
    assert "database" in response.get_json()["detail"]
    assert int(response.headers["Retry-After"]) > 0


def test_refused_connection_is_503(probe_app):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/folio"
    app = probe_app(SQLALCHEMY_DATABASE_URI=url)
    assert_database_unavailable(app.test_client().get("/probe/db"))


def test_database_that_never_answers_is_503_within_the_connect_timeout(probe_app, silent_server):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{silent_server}/folio"
    app = probe_app(SQLALCHEMY_DATABASE_URI=url, DB_CONNECT_TIMEOUT_S=CONNECT_TIMEOUT_S)
    started = time.monotonic()
    response = app.test_client().get("/probe/db")
    assert_database_unavailable(response)
    assert time.monotonic() - started < CONNECT_TIMEOUT_S + 3


def test_exhausted_pool_is_503_after_the_pool_timeout(probe_app):
    app = probe_app(
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0, "pool_timeout": 0.2}
    )
    with app.app_context(), _db.engine.connect():  # the only connection, held
        response = app.test_client().get("/probe/db")
    assert_database_unavailable(response)
    assert app.test_client().get("/probe/db").status_code == 200  # and it comes back


def test_lost_connection_reported_by_the_driver_is_503(probe_app):
    assert_database_unavailable(probe_app().test_client().get("/probe/lost-connection"))


def test_other_driver_errors_stay_500(probe_app):
    response = probe_app().test_client().get("/probe/driver-bug")
    assert "database" not in assert_problem(response, 500)["detail"]


@pytest.mark.postgres
def test_statement_timeout_is_503(probe_app):
    app = probe_app(DB_STATEMENT_TIMEOUT_MS=100)
    assert_database_unavailable(app.test_client().get("/probe/slow"))


@pytest.mark.postgres
def test_killed_connection_is_replaced_without_an_error(probe_app):
    """A connection the server dropped costs a reconnect, not a 503: the pool sees
    the server's goodbye on the socket when it hands the connection out."""
    app = probe_app()
    client = app.test_client()
    first = client.get("/probe/db").get_json()["backend_pid"]
    killer = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
    with killer.connect() as connection:  # not from the app's pool: that would be `first`
        connection.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": first})
    response = client.get("/probe/db")
    assert response.status_code == 200
    assert response.get_json()["backend_pid"] != first


def test_requests_that_need_no_database_still_answer(probe_app):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/folio"
    app = probe_app(SQLALCHEMY_DATABASE_URI=url)
    assert app.test_client().get("/health").status_code == 200


def test_retry_after_is_the_documented_seconds_even_when_rate_limited(probe_app):
    """Flask-Limiter writes its own Retry-After (the seconds left in its window,
    25 to 55 during an outage) on limited routes; the database's 503 keeps ours."""
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/folio"
    app = probe_app(SQLALCHEMY_DATABASE_URI=url, RATELIMIT_DEFAULT="300/minute")
    response = app.test_client().get("/probe/db")
    assert_database_unavailable(response)
    assert response.headers["Retry-After"] == str(DATABASE_RETRY_AFTER_S) == "5"
