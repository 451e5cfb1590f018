"""Folio: a blueprint-based Flask content API.

`create_app` is the only way an application is made: by wsgi.py for gunicorn
and `flask`, and by the tests with the testing configuration.
"""

from flask import Flask

from app.api import blp as api_blp
from app.auth import blp as auth_blp
from app.cli import register_commands
from app.conduit import blp as conduit_blp
from app.core.auth import configure_token_keys
from app.core.compression import init_compression
from app.core.conditional import init_conditional_lists
from app.core.content_type import (
    MergeSlashes,
    no_type_without_content,
    refuse_chunked_body_over_limit,
    refuse_nul_in_path,
    require_json_body,
)
from app.core.cors import init_cors
from app.core.database import engine_options, init_database
from app.core.errors import register_error_handlers
from app.core.json import OrjsonProvider
from app.core.proxy import init_proxy_fix
from app.core.rate_limits import forget_remembered_windows, keep_retry_after_for_refusals
from app.core.request_log import init_request_logging
from app.core.security_headers import init_security_headers
from app.core.sessions import NoSessions
from app.extensions import api, db, jwt, limiter, migrate
from app.ops.account_pages import blp as account_pages_blp
from app.ops.docs import blp as docs_blp
from app.ops.health import blp as health_blp
from app.ops.metrics import blp as metrics_blp
from app.ops.metrics import init_metrics, init_pool_metrics
from app.schemas import problems  # noqa: F401  (the spec names its schemas: core/openapi.py)
from app.services import tokens  # noqa: F401  (registers the JWT loaders that find a token's user)
from app.services.counters import list_version
from app.tasks import init_celery
from config import Config, load_config


def create_app(config=None, **overrides):
    """Build an app from a config name, a Config instance, or APP_ENV.

    `overrides` replace single settings after the configuration is loaded
    (tests use them to point at another database, for instance).
    """
    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    if not isinstance(config, Config):
        config = load_config(config)
    app.config.from_object(config)
    app.config.update(overrides)

    configure_app(app)
    init_extensions(app)
    register_blueprints(app)
    register_cli(app)
    return app


def configure_app(app):
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(app.config))
    # The contract: paths match with or without a trailing slash, never redirect.
    app.url_map.strict_slashes = False
    app.wsgi_app = MergeSlashes(app.wsgi_app)  # nor for "//", which werkzeug would redirect
    app.json = OrjsonProvider(app)
    app.json.sort_keys = False  # keep fields in schema order: problem details read type-first
    app.session_interface = NoSessions()
    init_compression(app)  # registered first, so it runs last: on the final body
    init_request_logging(app)
    # Registered before the limiter's own hook, so it runs after it.
    app.after_request(keep_retry_after_for_refusals)
    app.before_request(forget_remembered_windows)  # before the limiter's hits
    app.before_request(refuse_nul_in_path)
    app.before_request(require_json_body)
    app.before_request(refuse_chunked_body_over_limit)
    app.after_request(no_type_without_content)
    register_error_handlers(app)
    init_security_headers(app)
    init_cors(app)
    init_proxy_fix(app)
    init_metrics(app)


def init_extensions(app):
    configure_token_keys(app.config)
    db.init_app(app)
    init_database(app)
    init_pool_metrics(app)
    migrate.init_app(app, db)
    jwt.init_app(app)
    limiter.init_app(app)
    api.init_app(app)
    init_celery(app)
    init_conditional_lists(app, read_version=list_version)


def register_blueprints(app):
    api.register_blueprint(health_blp)
    api.register_blueprint(metrics_blp)
    api.register_blueprint(auth_blp, url_prefix="/auth")
    api.register_blueprint(api_blp, url_prefix="/api/v1")
    api.register_blueprint(conduit_blp, url_prefix="/api")  # RealWorld (Conduit) clients
    app.register_blueprint(docs_blp)  # an HTML page, not an API operation: not in the spec
    app.register_blueprint(account_pages_blp)  # the mail links' default pages, HTML too


def register_cli(app):
    register_commands(app)
