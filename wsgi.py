"""Entry point for gunicorn (`wsgi:app`) and the flask CLI (`flask --app wsgi`)."""

from app import create_app
from config import ConfigError

try:
    app = create_app()
except ConfigError as error:
    # One line naming what to set, not a traceback, when configuration is unsafe.
    raise SystemExit(f"folio: configuration error: {error}") from None
