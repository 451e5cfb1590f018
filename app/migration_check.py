"""`flask db check`: whether the models and the migrations differ, from any state.

Alembic's own check compares the models with the configured database, and
only when that database is at head: a fresh checkout (no `instance/folio.db`
yet) or a database behind gets "Target database is not up to date" and no
answer. This check builds a scratch database of the same kind from the
migrations (a temporary SQLite file, or a PostgreSQL database created and
dropped on the configured server), then compares the models with it. The
configured database is neither read nor changed.
"""

import os
import tempfile
import uuid
from contextlib import contextmanager

import click
import flask_migrate
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate.cli import db as migrate_commands
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from config import load_config


@click.command("check")
@click.option("-d", "--directory", default=None, help='Migration script directory ("migrations")')
@with_appcontext
def check(directory):
    """Fail if the models and the migrations differ (judged on a scratch database)."""
    from app import create_app  # the app package imports this module

    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    with scratch_database(url) as scratch_url:
        # Serves nothing: like the command itself, needs no secrets (see wsgi.py).
        config = load_config(current_app.config["APP_ENV"], serving=False)
        scratch = create_app(config, SQLALCHEMY_DATABASE_URI=scratch_url)
        with scratch.app_context():
            try:
                flask_migrate.upgrade(directory)
                flask_migrate.check(directory)  # exits 1 when they differ
            finally:
                scratch.extensions["sqlalchemy"].engine.dispose()


@contextmanager
def scratch_database(url):
    """The URL of an empty database like `url`'s, removed afterwards."""
    if url.get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield url.set(database=os.path.join(folder, "check.db")).render_as_string(False)
        return
    name = f"folio_check_{uuid.uuid4().hex[:12]}"
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield url.set(database=name).render_as_string(False)
        finally:
            with server.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        server.dispose()


def migration_commands():
    """Flask-Migrate's `db` group, with this `check` in place of Alembic's."""
    return click.Group(
        name="db",
        callback=migrate_commands.callback,
        params=migrate_commands.params,
        help=migrate_commands.help,
        commands={**migrate_commands.commands, "check": check},
    )
