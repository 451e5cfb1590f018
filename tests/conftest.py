"""Shared fixtures: one app and schema per test session, clean tables per test.

The suite runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL
is set (`make test` runs both). Tables are emptied after every test instead of
wrapping each test in a rolled-back transaction, so tests that use several
connections at once (races, threads) see each other's commits.
"""

import os

import pytest
from sqlalchemy import insert, text

from app import create_app
from app.extensions import db as _db
from app.extensions import limiter
from app.models import Counter
from app.models.post import COUNTERS

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")


def pytest_collection_modifyitems(config, items):
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: set TEST_DATABASE_URL")
    skip_redis = pytest.mark.skip(reason="needs Redis: set REDIS_URL")
    for item in items:
        if "postgres" in item.keywords and not POSTGRES_URL:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not os.environ.get("REDIS_URL"):
            item.add_marker(skip_redis)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    return POSTGRES_URL or f"sqlite:///{tmp_path_factory.mktemp('db') / 'folio-test.db'}"


@pytest.fixture(scope="session")
def database(database_url):
    """The test schema, made once per session; yields the app that owns it."""
    owner = create_app("testing", SQLALCHEMY_DATABASE_URI=database_url)
    with owner.app_context():
        _db.create_all()
    yield owner
    with owner.app_context():
        _db.session.remove()
        _db.drop_all()
        _db.engine.dispose()


def build_app(database_url, **overrides):
    overrides.setdefault("SQLALCHEMY_DATABASE_URI", database_url)
    return create_app("testing", **overrides)


@pytest.fixture(scope="session")
def app(database, database_url):
    app = build_app(database_url)
    yield app
    dispose_engines(app)


@pytest.fixture
def make_app(database, database_url):
    """Build a testing app with settings overridden; its pool closes after the test."""
    made = []

    def make(**overrides):
        made.append(build_app(database_url, **overrides))
        return made[-1]

    yield make
    for app in made:
        dispose_engines(app)


def dispose_engines(app):
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture(autouse=True)
def clean_tables(request):
    yield
    if "database" not in request.fixturenames:
        return
    owner = request.getfixturevalue("database")
    with owner.app_context():
        limiter.reset()
        _db.session.remove()
        tables = [table.name for table in reversed(_db.metadata.sorted_tables)]
        with _db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    connection.execute(text(f"DELETE FROM {table}"))
            # Maintained counters start where an empty, freshly made schema has them.
            connection.execute(insert(Counter), [{"name": name, "value": 0} for name in COUNTERS])


@pytest.fixture
def db(app):
    return _db


@pytest.fixture(autouse=True)
def _push_request_context():
    """Replace pytest-flask's: it pushes one app context for the whole test, so
    every request would share one database session. Here each request gets its
    own, as in production; tests open `app.app_context()` where they need one.
    """


PASSWORD = "correct horse battery staple"


@pytest.fixture
def make_user(app):
    """Create an account directly: make_user("alice", role="editor") -> its id."""

    def make(username, *, role="author", password=PASSWORD, email=None, is_active=True):
        from app.services import accounts

        with app.app_context():
            user = accounts.register(
                username=username,
                email=email or f"{username.lower()}@example.com",
                password=password,
                role=role,
            )
            user.is_active = is_active
            _db.session.commit()
            return user.id

    return make


@pytest.fixture
def login(client):
    """Sign in through the API: login("alice") -> the token pair."""

    def sign_in(name, password=PASSWORD):
        response = client.post("/auth/login", json={"login": name, "password": password})
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    return sign_in


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def sign_up(make_user, login, username, role="author"):
    """A new account, signed in: its Authorization headers."""
    make_user(username, role=role)
    return bearer(login(username)["access_token"])


# Bearer headers of the cast most tests use; a module may define its own.
@pytest.fixture
def alice(make_user, login):
    return sign_up(make_user, login, "alice")


@pytest.fixture
def bob(make_user, login):
    return sign_up(make_user, login, "bob")


@pytest.fixture
def carol(make_user, login):
    return sign_up(make_user, login, "carol")


@pytest.fixture
def editor(make_user, login):
    return sign_up(make_user, login, "eddie", role="editor")


@pytest.fixture
def admin(make_user, login):
    return sign_up(make_user, login, "root", role="admin")
