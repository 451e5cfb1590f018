"""Configuration mistakes stop the start with one line naming the variable.

A mistake found at start-up costs one restart; the same mistake found by the
first login (a 500), or never (a rate limit that silently does not apply),
costs far more. Each setting below is checked where it is read.
"""

import pytest

import config
from app import create_app
from app.extensions import db
from config import ConfigError, DevelopmentConfig, ProductionConfig

STRONG = "s" * 32
PRODUCTION = {
    "SECRET_KEY": STRONG,
    "JWT_SECRET_KEY": STRONG,
    "TRUSTED_HOSTS": "api.example.com",
    "DATABASE_URL": "postgresql+psycopg://folio@db/folio",
}


@pytest.mark.parametrize("algorithm", ["XYZ", "none", "None", "hs256", "HS257"])
def test_jwt_algorithm_must_be_one_pyjwt_signs_with(algorithm):
    with pytest.raises(ConfigError, match=r"^JWT_ALGORITHM must be one of .*HS256"):
        DevelopmentConfig({"JWT_ALGORITHM": algorithm})


@pytest.mark.parametrize("algorithm", ["HS256", "HS384", "HS512"])
def test_symmetric_algorithms_are_accepted(algorithm):
    assert algorithm == DevelopmentConfig({"JWT_ALGORITHM": algorithm}).JWT_ALGORITHM


@pytest.mark.parametrize(
    "name", ["RATELIMIT_DEFAULT", "RATELIMIT_LOGIN_PER_ACCOUNT", "RATELIMIT_LOGIN_PER_ADDRESS"]
)
@pytest.mark.parametrize("value", ["lots", "5/fortnight", "five per minute"])
def test_rate_limits_must_parse(name, value):
    with pytest.raises(ConfigError, match=rf"^{name} must be "):
        DevelopmentConfig({name: value})


def test_rate_limits_take_several_limits():
    development = DevelopmentConfig({"RATELIMIT_DEFAULT": "5 per second; 1000/hour"})
    assert development.RATELIMIT_DEFAULT == "5 per second; 1000/hour"


def test_an_empty_blanket_limit_still_means_none():
    assert config.TestingConfig({}).RATELIMIT_DEFAULT == ""


@pytest.mark.parametrize(
    "url",
    [
        "mysql://folio:hunter2@db/folio",
        "postgresql+asyncpg://folio:hunter2@db/folio",
        "folio.db",
        "lots",
    ],
)
def test_database_url_must_have_a_known_scheme(url):
    with pytest.raises(ConfigError, match=r"^DATABASE_URL must ") as refused:
        ProductionConfig({**PRODUCTION, "DATABASE_URL": url})
    assert "hunter2" not in str(refused.value)  # the password is not printed


def test_the_test_database_url_is_named_as_such():
    with pytest.raises(ConfigError, match=r"^TEST_DATABASE_URL must "):
        config.TestingConfig({"TEST_DATABASE_URL": "mysql://folio@db/folio"})


def test_a_database_url_that_does_not_parse_is_refused():
    with pytest.raises(ConfigError, match=r"^DATABASE_URL is not a valid database URL"):
        ProductionConfig({**PRODUCTION, "DATABASE_URL": "postgresql://u:p@db:port/folio"})


PRIMARY = "postgresql://folio@db/folio"


def test_replica_urls_are_read_as_a_list_of_postgresql_urls():
    settings = {**PRODUCTION, "DATABASE_URL": PRIMARY}
    replicas = "postgres://folio@replica-1/folio, postgresql://folio@replica-2/folio"
    loaded = ProductionConfig({**settings, "DATABASE_REPLICA_URLS": replicas})
    assert loaded.DATABASE_REPLICA_URLS == [
        "postgresql+psycopg://folio@replica-1/folio",
        "postgresql+psycopg://folio@replica-2/folio",
    ]
    assert ProductionConfig(settings).DATABASE_REPLICA_URLS == []  # none by default


@pytest.mark.parametrize(
    "replicas", ["mysql://folio:hunter2@replica/folio", "sqlite:///replica.db", "replica:5432"]
)
def test_a_replica_url_on_another_scheme_stops_the_start(replicas):
    settings = {**PRODUCTION, "DATABASE_URL": PRIMARY, "DATABASE_REPLICA_URLS": replicas}
    with pytest.raises(ConfigError, match=r"^DATABASE_REPLICA_URLS must ") as refused:
        ProductionConfig(settings)
    assert "hunter2" not in str(refused.value)


def test_replicas_are_refused_on_sqlite():
    replicas = {"DATABASE_REPLICA_URLS": "postgresql://folio@replica/folio"}
    with pytest.raises(ConfigError, match=r"needs a PostgreSQL DATABASE_URL: SQLite has no"):
        config.DevelopmentConfig(replicas)


@pytest.mark.parametrize(
    "scheme",
    ["postgres", "postgresql", "postgresql+psycopg"],
    ids=["platforms", "libpq", "sqlalchemy"],  # not "postgres": conftest skips those ids
)
def test_postgresql_urls_of_every_spelling_use_psycopg_3(scheme):
    """Heroku and Dokku give postgres://; SQLAlchemy reads it as no dialect at all."""
    production = ProductionConfig(
        {**PRODUCTION, "DATABASE_URL": f"{scheme}://folio:pw@db:5432/folio"}
    )
    assert production.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://folio:pw@db:5432/folio"
    production.validate()
    app = create_app(production)
    with app.app_context():
        assert (db.engine.dialect.name, db.engine.dialect.driver) == ("postgresql", "psycopg")


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///folio.db", "sqlite:////srv/folio.db"])
def test_sqlite_urls_are_kept_as_given(url):
    assert url == ProductionConfig({**PRODUCTION, "DATABASE_URL": url}).SQLALCHEMY_DATABASE_URI
