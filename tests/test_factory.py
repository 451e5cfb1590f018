"""The application factory and configuration validation."""

import subprocess
import sys

import pytest

from app import create_app
from config import BASE_DIR, ConfigError, DevelopmentConfig, ProductionConfig, load_config

STRONG = "s" * 32
PG_URL = "postgresql+psycopg://folio@db/folio"


def test_testing_config_is_testing(app):
    assert app.testing
    assert app.config["APP_ENV"] == "testing"


def test_development_needs_no_environment():
    config = DevelopmentConfig({})
    config.validate()
    assert config.SQLALCHEMY_DATABASE_URI.startswith("sqlite:///")
    assert "instance" in config.SQLALCHEMY_DATABASE_URI


def test_app_env_selects_the_class():
    assert load_config(environ={"APP_ENV": "testing"}).APP_ENV == "testing"
    assert load_config(environ={}).APP_ENV == "development"


def test_unknown_app_env_is_refused():
    with pytest.raises(ConfigError, match="APP_ENV"):
        load_config(environ={"APP_ENV": "staging"})


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"JWT_SECRET_KEY": STRONG, "DATABASE_URL": PG_URL}, "SECRET_KEY"),
        ({"SECRET_KEY": "short", "JWT_SECRET_KEY": STRONG, "DATABASE_URL": PG_URL}, "SECRET_KEY"),
        ({"SECRET_KEY": STRONG, "DATABASE_URL": PG_URL}, "JWT_SECRET_KEY"),
        (
            {"SECRET_KEY": STRONG, "JWT_SECRET_KEY": "x" * 31, "DATABASE_URL": PG_URL},
            "JWT_SECRET_KEY",
        ),
        ({"SECRET_KEY": STRONG, "JWT_SECRET_KEY": STRONG}, "DATABASE_URL"),
    ],
)
def test_production_refuses_weak_or_missing_settings(environ, named):
    with pytest.raises(ConfigError, match=rf"^Set {named} "):
        ProductionConfig(environ).validate()


def test_production_accepts_strong_settings():
    config = ProductionConfig(
        {
            "SECRET_KEY": STRONG,
            "JWT_SECRET_KEY": STRONG,
            "DATABASE_URL": PG_URL,
            "TRUSTED_HOSTS": "api.example.com",
        }
    )
    config.validate()
    app = create_app(config)
    assert not app.debug and not app.testing


def test_whole_number_settings_are_checked():
    with pytest.raises(ConfigError, match="MAX_CONTENT_LENGTH"):
        DevelopmentConfig({"MAX_CONTENT_LENGTH": "lots"})


@pytest.mark.processes
def test_wsgi_exits_with_one_line_naming_the_variable():
    env = {"APP_ENV": "production", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "folio: configuration error: Set SECRET_KEY to a random value of at least 32 bytes "
        "(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
    ]


def test_asymmetric_algorithm_needs_key_files():
    with pytest.raises(ConfigError, match=r"^Set JWT_PRIVATE_KEY_FILE"):
        DevelopmentConfig({"JWT_ALGORITHM": "RS256"}).validate()


def test_log_level_is_case_insensitive():
    assert DevelopmentConfig({"LOG_LEVEL": "warning"}).LOG_LEVEL == "WARNING"
