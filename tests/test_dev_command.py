"""`flask dev` (what `make run` starts): upgrade when behind, seed when empty, then serve,
all in one process; a restart with nothing to do goes straight to serving."""

import click
import pytest

from app import cli
from app.extensions import db
from app.models import User


@pytest.fixture
def served(monkeypatch):
    """Stands in for `flask run`: records the options it was called with."""
    calls = []
    fake = click.Command("run", callback=lambda **options: calls.append(options))
    monkeypatch.setattr(cli, "run_command", fake)
    return calls


@pytest.fixture
def fresh_app(make_app, tmp_path):
    """An app on an empty SQLite file: no tables, no migrations applied."""
    return make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'dev.db'}")


def dev(app, *args):
    result = app.test_cli_runner().invoke(args=["dev", *args])
    assert result.exit_code == 0, result.output
    return result.output


def users(app):
    with app.app_context():
        return db.session.query(User).count()


def test_a_first_start_upgrades_seeds_and_serves(fresh_app, served):
    output = dev(fresh_app, "--port", "5999", "--seed-users", "3", "--seed-posts", "5")
    assert "Upgrading the database" in output and "Seeded 3 users" in output
    assert users(fresh_app) == 3
    with fresh_app.app_context():
        assert cli.database_at_head()
    [options] = served
    assert (options["host"], options["port"], options["reload"]) == ("127.0.0.1", 5999, None)


def test_a_restart_with_nothing_to_do_only_serves(fresh_app, served):
    dev(fresh_app, "--seed-users", "2", "--seed-posts", "0")
    assert dev(fresh_app, "--seed-users", "9") == ""
    assert users(fresh_app) == 2 and len(served) == 2


def test_the_reloaders_child_finds_the_work_done(fresh_app, served, monkeypatch):
    monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")  # how werkzeug marks its child
    assert dev(fresh_app) == ""
    with fresh_app.app_context():
        assert not cli.database_at_head()
    assert len(served) == 1


def test_it_refuses_a_configuration_that_may_not_serve(fresh_app, served, monkeypatch):
    fresh_app.config["APP_ENV"] = "production"
    monkeypatch.setenv("SECRET_KEY", "")
    result = fresh_app.test_cli_runner().invoke(args=["dev"])
    assert result.exit_code == 1
    assert "configuration error: Set SECRET_KEY" in result.output
    assert served == []
