"""Entry point for gunicorn (`wsgi:app`) and the flask CLI (`flask --app wsgi`)."""

import click

from app import create_app
from config import ConfigError, load_config


def serving():
    """Whether this process imports the app to serve requests with it.

    The production secrets protect serving: signing and checking tokens for
    clients. `flask db upgrade` and the other operator commands do neither, so
    they run with only DATABASE_URL (a release job, a one-off container).
    Outside the flask CLI (gunicorn, any other WSGI server) the answer is yes.
    Inside it, the app is imported while the command being run is the current
    click context: only `flask run` serves. (The app's own commands, `db`
    among them, are found by importing the app from the `flask` group itself;
    so `flask dev`, which serves too, checks the serving rules when it starts:
    app/cli.py `check_serving_config`.)
    """
    context = click.get_current_context(silent=True)
    return context is None or context.command.name == "run"


try:
    app = create_app(load_config(serving=serving()))
except ConfigError as error:
    # One line naming what to set, not a traceback, when configuration is unsafe.
    raise SystemExit(f"folio: configuration error: {error}") from None
