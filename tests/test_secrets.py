"""No published value ever signs a token Folio accepts.

Development and testing make their own secrets, once per checkout, under
`instance/`; every value that has ever been written in this repository (old
defaults stay in its history) is refused.
"""

import re
import secrets
import stat
import subprocess
import sys

import jwt as pyjwt
import pytest
from flask_jwt_extended import decode_token

import config
from app import create_app
from config import (
    BASE_DIR,
    PUBLISHED_SECRETS,
    ConfigError,
    DevelopmentConfig,
    ProductionConfig,
    checkout_secret,
)
from tests.conftest import bearer, dispose_engines

OLD_DEVELOPMENT_JWT_SECRET = "dev-jwt-secret-key-not-for-production-000"
PRODUCTION = {
    "SECRET_KEY": secrets.token_urlsafe(48),
    "JWT_SECRET_KEY": secrets.token_urlsafe(48),
    "TRUSTED_HOSTS": "api.example.com",
    "DATABASE_URL": "sqlite://",
}
# A literal assigned to SECRET_KEY or JWT_SECRET_KEY, as an environment file, a
# shell line, YAML, a Python dict or a class attribute would write it.
ASSIGNED_SECRET = re.compile(
    r"""(?:JWT_)?SECRET_KEY["']?\s*[:=]\s*["']?([A-Za-z0-9_.~+/=-]{8,})(?=["'\s]|$)""",
    re.MULTILINE,
)


def test_the_old_published_development_secret_signs_nothing(
    app, client, database_url, make_user, login
):
    """The attack from the issue: a token for admin user 1, signed with the secret
    the development configuration used to publish, read the admin-only user list."""
    make_user("root", role="admin")
    genuine = login("root")["access_token"]
    with app.app_context():
        claims = decode_token(genuine)
    forged = pyjwt.encode(claims, OLD_DEVELOPMENT_JWT_SECRET, algorithm="HS256")
    development = create_app(DevelopmentConfig({}), SQLALCHEMY_DATABASE_URI=database_url)
    try:
        answer = development.test_client().get("/api/v1/users", headers=bearer(forged))
        assert answer.status_code == 401
        assert answer.mimetype == "application/problem+json"
    finally:
        dispose_engines(development)


@pytest.mark.parametrize("environment", [DevelopmentConfig, config.TestingConfig])
@pytest.mark.parametrize("name", ["SECRET_KEY", "JWT_SECRET_KEY"])
def test_development_and_testing_use_the_checkouts_own_secret(environment, name):
    value = getattr(environment({}), name)
    assert value == checkout_secret(name)
    assert value not in PUBLISHED_SECRETS
    assert len(value.encode()) >= config.MIN_SECRET_BYTES


def test_a_secret_is_made_once_and_kept_private(tmp_path):
    folder = tmp_path / "secrets"
    first = checkout_secret("SECRET_KEY", folder)
    assert checkout_secret("SECRET_KEY", folder) == first
    assert checkout_secret("JWT_SECRET_KEY", folder) != first
    assert stat.S_IMODE((folder / "SECRET_KEY").stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    # No temporary file is left behind.
    assert sorted(path.name for path in folder.iterdir()) == ["JWT_SECRET_KEY", "SECRET_KEY"]


@pytest.mark.processes
def test_processes_starting_at_once_agree_on_one_secret(tmp_path):
    """Workers, the reloader and a second terminal may all start on a fresh checkout."""
    folder, go = tmp_path / "secrets", tmp_path / "go"
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from config import checkout_secret\n"
        f"while not os.path.exists({str(go)!r}): pass\n"
        f"print(checkout_secret('SECRET_KEY', Path({str(folder)!r})))\n"
    )
    starters = [
        subprocess.Popen(
            [sys.executable, "-c", script], cwd=BASE_DIR, stdout=subprocess.PIPE, text=True
        )
        for _ in range(8)
    ]
    go.touch()
    values = {starter.communicate(timeout=60)[0].strip() for starter in starters}
    assert values == {(folder / "SECRET_KEY").read_text().strip()}


def test_a_damaged_secret_file_is_refused_not_used(tmp_path):
    folder = tmp_path / "secrets"
    folder.mkdir()
    (folder / "JWT_SECRET_KEY").write_text("\n")
    with pytest.raises(ConfigError, match=r"^Set JWT_SECRET_KEY, or delete .*JWT_SECRET_KEY"):
        checkout_secret("JWT_SECRET_KEY", folder)


def test_an_unwritable_instance_folder_is_one_line_naming_the_variable(tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    with pytest.raises(ConfigError, match=r"^Set SECRET_KEY\b"):
        checkout_secret("SECRET_KEY", blocked / "secrets")


@pytest.mark.parametrize("value", sorted(PUBLISHED_SECRETS))
@pytest.mark.parametrize("name", ["SECRET_KEY", "JWT_SECRET_KEY"])
def test_production_refuses_every_published_value(name, value):
    with pytest.raises(ConfigError, match=rf"^Set {name} to a new random value"):
        ProductionConfig({**PRODUCTION, name: value}).validate()


@pytest.mark.processes
def test_development_refuses_a_published_value_too():
    """A .env copied from an old example must not sign tokens on a laptop either."""
    with pytest.raises(ConfigError, match=r"^Set JWT_SECRET_KEY to a new random value"):
        DevelopmentConfig({"JWT_SECRET_KEY": OLD_DEVELOPMENT_JWT_SECRET}).validate()


def tracked_files():
    listing = subprocess.run(
        ["git", "ls-files", "-z"], cwd=BASE_DIR, capture_output=True, check=True
    ).stdout
    return [BASE_DIR / name for name in listing.decode().split("\0") if name]


def assigned_secrets(text):
    return set(ASSIGNED_SECRET.findall(text))


def test_the_scan_finds_secrets_however_they_are_written():
    value = secrets.token_urlsafe(24)
    written = [
        f"SECRET_KEY={value}",
        f"export JWT_SECRET_KEY='{value}'",
        f"      SECRET_KEY: {value}",
        f'    "JWT_SECRET_KEY": "{value}",',
        f'    DEFAULT_SECRET_KEY = "{value}"',
        f"# SECRET_KEY={value}",
    ]
    for line in written:
        assert assigned_secrets(line) == {value}, line
    not_values = "SECRET_KEY: ${SECRET_KEY:?set it}\nSECRET_KEY=$(python3 -c 'x')\nSECRET_KEY=..."
    assert assigned_secrets(not_values) == set()


def test_production_refuses_every_secret_written_in_the_repository():
    """A new example, script or default that writes a secret publishes it: this
    fails until the value is added to PUBLISHED_SECRETS (or made at run time)."""
    found = {}
    for path in tracked_files():
        try:
            text = path.read_text()
        except (UnicodeDecodeError, IsADirectoryError, FileNotFoundError):
            continue
        for value in assigned_secrets(text):
            found.setdefault(value, path.relative_to(BASE_DIR))
    accepted = {}
    for value, path in found.items():
        try:
            ProductionConfig({**PRODUCTION, "JWT_SECRET_KEY": value}).validate()
            accepted[value] = str(path)
        except ConfigError:
            pass
    assert accepted == {}
