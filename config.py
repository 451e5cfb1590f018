"""Configuration classes, one per environment, read from the environment.

`APP_ENV` chooses the class (development, testing, production; default
development). A class reads the environment when it is instantiated, not at
import, so tests can build one from any mapping. Every setting is documented in
docs/configuration.md (tests/test_documentation.py keeps the two in step).

No secret is written in this repository: development and testing make their
own, once per checkout, under `instance/secrets/`; production refuses to start
with weak or missing secrets, and every environment refuses a value that was
ever published here (old defaults live on in the history).
"""

import os
import re
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

from jwt.algorithms import get_default_algorithms
from limits import parse_many
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"
MIN_SECRET_BYTES = 32
# An origin as browsers send it: scheme, host and optional port, nothing else.
ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")

# --- Checked settings: a mistake stops the start, never a later 500 or a silent default.
# What PyJWT can sign with; "none" would accept unsigned tokens.
SIGNING_ALGORITHMS = sorted(set(get_default_algorithms()) - {"none"})
# Database URL schemes Folio runs on. Platforms that run the Procfile (Heroku,
# Dokku) give postgres://, which SQLAlchemy no longer reads, and postgresql://
# would pick psycopg2, which is not installed: both mean psycopg 3.
DATABASE_SCHEMES = {
    "sqlite": "sqlite",
    "postgresql+psycopg": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
}


# --- Mail: how a committed outbox row is delivered (app/services/outbox.py).
# celery: a task on the broker; inline: in the process, right after the commit;
# sweep: only by `flask outbox send` (or the worker's periodic sweep).
OUTBOX_DELIVERIES = {"celery", "inline", "sweep"}

# --- Logs on stdout: what a person reads (text) or what a collector parses (json).
LOG_FORMATS = {"text", "json"}

# --- Trusted hosts: the Host header is reflected in Link and Location headers.
# A host name, or .example.com for it and every subdomain (werkzeug ignores a port).
HOST_NAME = re.compile(r"\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\]")

# --- Secrets: none published, none accepted once published.
SECRET_NAMES = ("SECRET_KEY", "JWT_SECRET_KEY")
SECRETS_DIR = INSTANCE_DIR / "secrets"  # gitignored, like all of instance/
MAKE_A_SECRET = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
# Every value ever assigned to a secret in this repository: the old development
# and testing defaults, the .env.example placeholders, and fixed values once
# used by the test servers and the benchmark. They stay readable in the git
# history forever. tests/test_secrets.py fails when a new one is written.
PUBLISHED_SECRETS = frozenset(
    {
        "dev-secret-key-not-for-production-use-0000",
        "dev-jwt-secret-key-not-for-production-000",
        "testing-secret-key-0123456789abcdef0123",
        "testing-jwt-secret-key-0123456789abcdef",
        "change-me-to-at-least-32-random-bytes-000000",
        "change-me-to-at-least-32-random-bytes-00000",
        "server-test-secret-key-0123456789abcdef",
        "server-test-jwt-secret-0123456789abcdef",
        "bench-secret-key-not-for-production-0123456789",
        "bench-jwt-secret-key-not-for-production-0123456",
    }
)


class ConfigError(RuntimeError):
    """The configuration cannot run safely; the message names what to set."""


def checkout_secret(name, directory=SECRETS_DIR):
    """This checkout's own random value for `name`, made on first use and kept.

    Made in a private temporary file, then hard-linked into place: a link never
    replaces an existing file, so when several processes start at once on a
    fresh checkout (gunicorn workers, the reloader, a second terminal) exactly
    one value is written and every process reads that one.
    """
    path = directory / name
    try:
        if not path.exists():
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor, draft = tempfile.mkstemp(dir=directory, prefix=f".{name}.")  # 0600
            try:
                with os.fdopen(descriptor, "w") as file:
                    file.write(secrets.token_urlsafe(48) + "\n")
                os.link(draft, path)
            except FileExistsError:
                pass  # another process made it first: use theirs
            finally:
                os.unlink(draft)
        value = path.read_text().strip()
    except OSError as error:
        raise ConfigError(
            f"Set {name}, or let Folio keep a generated one in {directory} ({error.strerror})"
        ) from None
    if len(value.encode()) < MIN_SECRET_BYTES:  # emptied or edited by hand: never sign with it
        raise ConfigError(f"Set {name}, or delete {path} so that Folio makes a new one")
    return value


class Config:
    """Settings shared by every environment. Subclasses change defaults only."""

    APP_ENV = "base"
    DEBUG = False
    TESTING = False
    # Development and testing make their own secrets when none is set.
    MAKES_SECRETS = False
    DEFAULT_DATABASE_URL = None
    DATABASE_URL_VARIABLE = "DATABASE_URL"
    # argon2id (time cost, memory KiB, parallelism): argon2-cffi's RFC 9106 low-memory profile.
    DEFAULT_ARGON2 = (3, 64 * 1024, 4)
    DEFAULT_RATELIMIT = "300/minute"
    DEFAULT_CORS_ORIGINS = ""  # no browser origin may call the API until one is named
    DEFAULT_LOG_FORMAT = "json"
    # Password work: one argon2id hash is about 0.3 CPU-seconds. Half the cores may
    # hash at once, so the other half keeps serving everything else.
    DEFAULT_REGISTER_PER_ADDRESS = "10/hour"
    DEFAULT_PASSWORD_PER_ADDRESS = "30/minute"
    DEFAULT_PASSWORD_HASH_CONCURRENCY = max(1, (os.cpu_count() or 1) // 2)
    # Mail: None chooses celery when a broker is set, else inline after the commit.
    DEFAULT_OUTBOX_DELIVERY = None
    DEFAULT_MAIL_PER_ADDRESS = "20/hour"

    # flask-smorest serves the generated spec at /openapi.json.
    API_TITLE = "Folio"
    API_VERSION = "1.0.0"
    OPENAPI_VERSION = "3.1.0"
    OPENAPI_URL_PREFIX = "/"
    OPENAPI_JSON_PATH = "openapi.json"

    def __init__(self, environ=None):
        self._environ = os.environ if environ is None else environ
        self.SECRET_KEY = self.env_secret("SECRET_KEY")
        self.JWT_SECRET_KEY = self.env_secret("JWT_SECRET_KEY")
        self.JWT_ALGORITHM = self.env_algorithm("JWT_ALGORITHM", "HS256")
        self.JWT_PRIVATE_KEY_FILE = self.env_str("JWT_PRIVATE_KEY_FILE")
        self.JWT_PUBLIC_KEY_FILE = self.env_str("JWT_PUBLIC_KEY_FILE")
        self.JWT_ACCESS_TOKEN_EXPIRES = timedelta(
            seconds=self.env_int("JWT_ACCESS_TOKEN_SECONDS", 15 * 60)
        )
        self.JWT_REFRESH_TOKEN_EXPIRES = timedelta(
            seconds=self.env_int("JWT_REFRESH_TOKEN_SECONDS", 30 * 24 * 3600)
        )
        self.SQLALCHEMY_DATABASE_URI = self.env_database_url(
            self.DATABASE_URL_VARIABLE, self.DEFAULT_DATABASE_URL
        )
        self.DB_POOL_SIZE = self.env_int("DB_POOL_SIZE", 5)
        self.DB_STATEMENT_TIMEOUT_MS = self.env_int("DB_STATEMENT_TIMEOUT_MS", 5000)
        self.DB_CONNECT_TIMEOUT_S = self.env_int("DB_CONNECT_TIMEOUT_S", 3)
        self.REDIS_URL = self.env_str("REDIS_URL")
        # Read replicas (app/core/replicas.py): PostgreSQL streaming standbys the
        # read model reads from; none by default, then every read goes to the primary.
        self.DATABASE_REPLICA_URLS = self.env_replica_urls("DATABASE_REPLICA_URLS")
        self.REPLICA_MAX_LAG_S = self.env_int("REPLICA_MAX_LAG_S", 5)
        self.MAX_CONTENT_LENGTH = self.env_int("MAX_CONTENT_LENGTH", 1024 * 1024)
        self.IDEMPOTENCY_TTL_S = self.env_int("IDEMPOTENCY_TTL_S", 24 * 3600)
        self.LOG_LEVEL = self.env_str("LOG_LEVEL", "INFO").upper()
        # text: a readable line per request and multi-line tracebacks (the dev server);
        # json: one JSON object per line, for log collectors (app/core/request_log.py).
        self.LOG_FORMAT = self.env_choice("LOG_FORMAT", self.DEFAULT_LOG_FORMAT, LOG_FORMATS)
        self.ARGON2_TIME_COST = self.env_int("ARGON2_TIME_COST", self.DEFAULT_ARGON2[0])
        self.ARGON2_MEMORY_KIB = self.env_int("ARGON2_MEMORY_KIB", self.DEFAULT_ARGON2[1])
        self.ARGON2_PARALLELISM = self.env_int("ARGON2_PARALLELISM", self.DEFAULT_ARGON2[2])
        self.CORS_ORIGINS = self.env_origins("CORS_ORIGINS", self.DEFAULT_CORS_ORIGINS)
        self.PREFERRED_URL_SCHEME = self.env_choice(
            "PREFERRED_URL_SCHEME", "http", {"http", "https"}
        )
        self.METRICS_TOKEN = self.env_str("METRICS_TOKEN")
        # gzip JSON in the app (app/core/compression.py); false behind nginx, which does it.
        self.APP_COMPRESS = self.env_bool("APP_COMPRESS", True)
        # Trusted proxy hops per X-Forwarded-* header; 0 ignores the header (no proxy).
        self.PROXY_FIX_X_FOR = self.env_int("PROXY_FIX_X_FOR", 0)
        self.PROXY_FIX_X_PROTO = self.env_int("PROXY_FIX_X_PROTO", 0)
        self.PROXY_FIX_X_HOST = self.env_int("PROXY_FIX_X_HOST", 0)
        self.PROXY_FIX_X_PORT = self.env_int("PROXY_FIX_X_PORT", 0)
        self.PROXY_FIX_X_PREFIX = self.env_int("PROXY_FIX_X_PREFIX", 0)
        self.configure_token_safety()
        self.configure_rate_limits()
        self.configure_trusted_hosts()
        self.configure_password_work()
        self.configure_mail()
        self.configure_bench_layers()

    def configure_trusted_hosts(self):
        """Flask answers a request for any other host 400 (problem details here),
        so no attacker-chosen host reaches a Link or Location header. None (unset)
        trusts any host: development and testing; production requires a list."""
        hosts = [host.strip() for host in (self.env_str("TRUSTED_HOSTS") or "").split(",")]
        hosts = [host for host in hosts if host]
        for host in hosts:
            if not HOST_NAME.fullmatch(host):
                raise ConfigError(
                    "TRUSTED_HOSTS entries must be host names such as api.example.com "
                    f"(or .example.com for every subdomain), got {host!r}"
                )
        self.TRUSTED_HOSTS = hosts or None

    def configure_token_safety(self):
        """How long a sign-in counts as recent, a spent refresh token's retry
        window, and the lifetime of Conduit's tokens (which have no refresh)."""
        self.JWT_FRESH_SECONDS = self.env_int("JWT_FRESH_SECONDS", 15 * 60)
        self.JWT_REFRESH_REUSE_GRACE_SECONDS = self.env_int("JWT_REFRESH_REUSE_GRACE_SECONDS", 10)
        self.CONDUIT_TOKEN_SECONDS = self.env_int("CONDUIT_TOKEN_SECONDS", 7 * 24 * 3600)

    def configure_rate_limits(self):
        """Every RATELIMIT_* key is set here, for every environment: Flask-Limiter's
        module-level instance keeps some settings from the first app it meets."""
        self.RATELIMIT_ENABLED = self.env_bool("RATELIMIT_ENABLED", True)
        # Redis through app.core.rate_limits.WindowRememberingRedisStorage (one
        # round trip a request), or this process's memory.
        redis_url = self.REDIS_URL or ""
        remembering = redis_url.startswith(("redis://", "rediss://"))
        self.RATELIMIT_STORAGE_URI = (
            f"folio+{redis_url}" if remembering else (redis_url or "memory://")
        )
        self.RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}
        self.RATELIMIT_STRATEGY = "moving-window"
        self.RATELIMIT_HEADERS_ENABLED = True
        # Redis down: count in memory (per process) and keep serving rather than answer 500.
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
        self.RATELIMIT_SWALLOW_ERRORS = True
        self.RATELIMIT_KEY_PREFIX = "folio"
        self.RATELIMIT_DEFAULT = self.env_limits("RATELIMIT_DEFAULT", self.DEFAULT_RATELIMIT)
        self.RATELIMIT_LOGIN_PER_ACCOUNT = self.env_limits(
            "RATELIMIT_LOGIN_PER_ACCOUNT", "5/minute"
        )
        self.RATELIMIT_LOGIN_PER_ADDRESS = self.env_limits(
            "RATELIMIT_LOGIN_PER_ADDRESS", "20/minute"
        )

    def configure_password_work(self):
        """Bounds on the endpoints that hash or verify a password (app/core/throttle.py)."""
        self.RATELIMIT_REGISTER_PER_ADDRESS = self.env_limits(
            "RATELIMIT_REGISTER_PER_ADDRESS", self.DEFAULT_REGISTER_PER_ADDRESS
        )
        self.RATELIMIT_PASSWORD_PER_ADDRESS = self.env_limits(
            "RATELIMIT_PASSWORD_PER_ADDRESS", self.DEFAULT_PASSWORD_PER_ADDRESS
        )
        self.RATELIMIT_LOGIN_ACCOUNT_CEILING = self.env_limits(
            "RATELIMIT_LOGIN_ACCOUNT_CEILING", "100/hour"
        )
        self.LOGIN_KNOWN_ADDRESS_DAYS = self.env_int("LOGIN_KNOWN_ADDRESS_DAYS", 30)
        self.PASSWORD_HASH_CONCURRENCY = self.env_int(
            "PASSWORD_HASH_CONCURRENCY", self.DEFAULT_PASSWORD_HASH_CONCURRENCY
        )
        if self.PASSWORD_HASH_CONCURRENCY < 1:
            raise ConfigError("PASSWORD_HASH_CONCURRENCY must be at least 1")
        # gunicorn.conf.py sets it, so the cap holds across its workers.
        self.PASSWORD_HASH_SLOTS_DIR = self.env_str("PASSWORD_HASH_SLOTS_DIR")

    # --- mail: account emails through the outbox (app/services/outbox.py) ---
    def configure_mail(self):
        """Flask's mail conventions (MAIL_*), the Celery broker, the links in account
        mail, token lifetimes and the per-email limits. Without MAIL_SERVER mail is
        written to the log and to instance/mail/ as .eml files (development)."""
        self.MAIL_SERVER = self.env_str("MAIL_SERVER")
        self.MAIL_PORT = self.env_int("MAIL_PORT", 25)
        self.MAIL_USE_TLS = self.env_bool("MAIL_USE_TLS")
        self.MAIL_USE_SSL = self.env_bool("MAIL_USE_SSL")
        if self.MAIL_USE_TLS and self.MAIL_USE_SSL:
            raise ConfigError("Set MAIL_USE_TLS (STARTTLS) or MAIL_USE_SSL, not both")
        self.MAIL_USERNAME = self.env_str("MAIL_USERNAME")
        self.MAIL_PASSWORD = self.env_str("MAIL_PASSWORD")
        self.MAIL_DEFAULT_SENDER = self.env_str("MAIL_DEFAULT_SENDER", "Folio <folio@localhost>")
        self.MAIL_TIMEOUT_S = self.env_int("MAIL_TIMEOUT_S", 10)
        self.MAIL_FILE_DIR = self.env_str("MAIL_FILE_DIR", str(INSTANCE_DIR / "mail"))
        self.CELERY_BROKER_URL = self.env_str("CELERY_BROKER_URL", self.REDIS_URL)
        default_delivery = "celery" if self.CELERY_BROKER_URL else "inline"
        self.OUTBOX_DELIVERY = self.env_choice(
            "OUTBOX_DELIVERY", self.DEFAULT_OUTBOX_DELIVERY or default_delivery, OUTBOX_DELIVERIES
        )
        if self.OUTBOX_DELIVERY == "celery" and not self.CELERY_BROKER_URL:
            raise ConfigError("OUTBOX_DELIVERY=celery needs CELERY_BROKER_URL or REDIS_URL")
        self.OUTBOX_SWEEP_SECONDS = self.env_int("OUTBOX_SWEEP_SECONDS", 30)
        self.OUTBOX_RETRY_BASE_SECONDS = self.env_int("OUTBOX_RETRY_BASE_SECONDS", 30)
        self.OUTBOX_RETRY_MAX_SECONDS = self.env_int("OUTBOX_RETRY_MAX_SECONDS", 6 * 3600)
        self.PASSWORD_RESET_URL = self.env_str("PASSWORD_RESET_URL")
        self.EMAIL_VERIFY_URL = self.env_str("EMAIL_VERIFY_URL")
        self.PASSWORD_RESET_TOKEN_SECONDS = self.env_int("PASSWORD_RESET_TOKEN_SECONDS", 3600)
        self.EMAIL_VERIFY_TOKEN_SECONDS = self.env_int("EMAIL_VERIFY_TOKEN_SECONDS", 48 * 3600)
        self.RATELIMIT_MAIL_PER_EMAIL = self.env_limits("RATELIMIT_MAIL_PER_EMAIL", "3/hour")
        self.RATELIMIT_MAIL_PER_ADDRESS = self.env_limits(
            "RATELIMIT_MAIL_PER_ADDRESS", self.DEFAULT_MAIL_PER_ADDRESS
        )

    # --- Benchmarks only: per-request layers the per-layer scenario turns off.
    # The limiter, the access log and CORS have their own settings
    # (RATELIMIT_ENABLED, LOG_LEVEL, CORS_ORIGINS); these three have none.
    BENCH_LAYERS = frozenset({"metrics", "request_id", "security_headers"})

    def configure_bench_layers(self):
        """`BENCH_LAYERS_OFF=metrics,request_id`: bench/layers.py measures what each
        layer costs. Empty (the default everywhere) keeps every layer on."""
        names = {name.strip() for name in (self.env_str("BENCH_LAYERS_OFF") or "").split(",")}
        names.discard("")
        unknown = names - self.BENCH_LAYERS
        if unknown:
            raise ConfigError(
                f"BENCH_LAYERS_OFF takes {', '.join(sorted(self.BENCH_LAYERS))}, "
                f"got {', '.join(sorted(unknown))}"
            )
        self.BENCH_LAYERS_OFF = frozenset(names)

    def env_str(self, name, default=None):
        value = self._environ.get(name)
        return default if value is None or value.strip() == "" else value.strip()

    def env_secret(self, name):
        value = self.env_str(name)
        if value is None and self.MAKES_SECRETS:
            return checkout_secret(name)
        return value

    def env_int(self, name, default):
        value = self.env_str(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, got {value!r}") from None

    def env_bool(self, name, default=False):
        value = self.env_str(name)
        if value is None:
            return default
        return value.lower() in {"1", "true", "yes", "on"}

    def env_choice(self, name, default, choices):
        value = self.env_str(name, default).lower()
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(sorted(choices))}, got {value!r}")
        return value

    def env_algorithm(self, name, default):
        """Checked here: PyJWT fails only when the first token is made (a 500 per login)."""
        value = self.env_str(name, default)
        if value not in SIGNING_ALGORITHMS:
            choices = ", ".join(SIGNING_ALGORITHMS)
            raise ConfigError(f"{name} must be one of {choices}, got {value!r}")
        return value

    def env_limits(self, name, default):
        """Rate limits as Flask-Limiter reads them (`5/minute; 100/hour`).

        Checked here because Flask-Limiter skips a limit it cannot parse, so a
        typo would mean no limit at all. Empty means no limit (TestingConfig's
        blanket default).
        """
        value = self.env_str(name, default)
        if value:
            try:
                parse_many(value)
            except ValueError:
                raise ConfigError(
                    f"{name} must be rate limits such as '300/minute' or "
                    f"'5 per second; 100/hour', got {value!r}"
                ) from None
        return value

    def env_database_url(self, name, default):
        """A SQLAlchemy URL on a scheme Folio runs on, spelled as SQLAlchemy needs it.

        Only the scheme is ever quoted back: the rest may hold a password.
        """
        value = self.env_str(name, default)
        if value is None:
            return None
        return self.database_url(name, value)

    def database_url(self, name, value):
        scheme, separator, rest = value.partition("://")
        if not separator or scheme.lower() not in DATABASE_SCHEMES:
            given = f"{scheme}://" if separator else "no scheme"
            raise ConfigError(
                f"{name} must start with sqlite:// or postgresql:// "
                f"(postgres:// and postgresql+psycopg:// work too), got {given}"
            )
        url = f"{DATABASE_SCHEMES[scheme.lower()]}://{rest}"
        try:
            make_url(url).port  # noqa: B018 - the port is parsed on first read
        except (ArgumentError, ValueError):
            raise ConfigError(f"{name} is not a valid database URL") from None
        return url

    def env_replica_urls(self, name):
        """Comma-separated PostgreSQL URLs of the primary's streaming replicas.

        Refused on SQLite (it has no replicas), and any URL that is not
        PostgreSQL's, with one line that says so."""
        values = [value.strip() for value in (self.env_str(name) or "").split(",")]
        urls = [self.database_url(name, value) for value in values if value]
        if not urls:
            return []
        if any(not url.startswith("postgresql") for url in urls):
            raise ConfigError(f"{name} must list postgresql:// URLs (streaming replicas)")
        if not (self.SQLALCHEMY_DATABASE_URI or "").startswith("postgresql"):
            raise ConfigError(
                f"{name} needs a PostgreSQL {self.DATABASE_URL_VARIABLE}: "
                "SQLite has no replicas (unset it)"
            )
        return urls

    def env_origins(self, name, default):
        """A comma-separated list of origins, or `*` for any origin.

        Entries are checked here because a typo (a missing scheme, a path)
        would otherwise never match and fail silently in the browser.
        """
        origins = [o.strip().rstrip("/") for o in self.env_str(name, default).split(",")]
        origins = [origin for origin in origins if origin]
        for origin in origins:
            if origin != "*" and not ORIGIN.fullmatch(origin):
                raise ConfigError(
                    f"{name} entries must be origins such as https://app.example.com "
                    f"(scheme, host, optional port) or *, got {origin!r}"
                )
        return origins

    def validate(self, serving=True):
        """Fail fast on settings this environment cannot run with.

        `serving` is False for commands that serve no request (`flask db upgrade`
        and the other operator commands): what protects serving alone (the
        secrets must be present) is then not required. A value that is given is
        always checked.
        """
        for name in SECRET_NAMES:
            if getattr(self, name) in PUBLISHED_SECRETS:
                raise ConfigError(
                    f"Set {name} to a new random value: the one given is published "
                    f"in Folio's repository ({MAKE_A_SECRET})"
                )
        if self.JWT_ALGORITHM[:2] in ("RS", "ES", "PS", "Ed"):
            for name in ("JWT_PRIVATE_KEY_FILE", "JWT_PUBLIC_KEY_FILE"):
                if not getattr(self, name) or not Path(getattr(self, name)).is_file():
                    raise ConfigError(f"Set {name} to a PEM file for {self.JWT_ALGORITHM}")
        if not self.SQLALCHEMY_DATABASE_URI:
            raise ConfigError(
                f"Set {self.DATABASE_URL_VARIABLE} "
                "(e.g. postgresql://user:password@host:5432/folio)"
            )


class DevelopmentConfig(Config):
    APP_ENV = "development"
    MAKES_SECRETS = True  # so `make run` needs no setup, and no published value signs
    DEFAULT_DATABASE_URL = f"sqlite:///{INSTANCE_DIR / 'folio.db'}"
    DEFAULT_CORS_ORIGINS = "*"
    DEFAULT_LOG_FORMAT = "text"  # a person reads the dev server's terminal


class TestingConfig(Config):
    APP_ENV = "testing"
    TESTING = True
    MAKES_SECRETS = True
    DEFAULT_DATABASE_URL = f"sqlite:///{INSTANCE_DIR / 'test.db'}"
    DATABASE_URL_VARIABLE = "TEST_DATABASE_URL"
    # Cheap hashing keeps the suite fast; the algorithm and code path are the same.
    DEFAULT_ARGON2 = (1, 1024, 1)
    # No blanket limit in tests; tests of limits set their own.
    DEFAULT_RATELIMIT = ""
    DEFAULT_REGISTER_PER_ADDRESS = "1000/minute"
    DEFAULT_PASSWORD_PER_ADDRESS = "1000/minute"
    DEFAULT_PASSWORD_HASH_CONCURRENCY = 64
    # Tests deliver by calling the sweep (or start a worker) themselves.
    DEFAULT_OUTBOX_DELIVERY = "sweep"
    DEFAULT_MAIL_PER_ADDRESS = "1000/minute"
    DEFAULT_CORS_ORIGINS = "*"


class ProductionConfig(Config):
    APP_ENV = "production"

    def validate(self, serving=True):
        for name in SECRET_NAMES:
            value = getattr(self, name)
            # Unset and not serving: nothing can sign or verify a token
            # (flask-jwt-extended refuses to work without a key).
            if value is None and not serving:
                continue
            if not value or len(value.encode()) < MIN_SECRET_BYTES:
                raise ConfigError(
                    f"Set {name} to a random value of at least {MIN_SECRET_BYTES} bytes "
                    f"({MAKE_A_SECRET})"
                )
        super().validate(serving)
        if serving and not self.TRUSTED_HOSTS:
            raise ConfigError(
                "Set TRUSTED_HOSTS to the host names clients use "
                "(comma-separated, e.g. api.example.com,www.example.com)"
            )


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def load_config(name=None, environ=None, *, serving=True):
    """The validated configuration for `name`, or for `APP_ENV` when not given.

    `serving=False` for a process that will serve no request (see `validate`).
    """
    environ = os.environ if environ is None else environ
    name = name or environ.get("APP_ENV") or "development"
    if name not in CONFIGS:
        raise ConfigError(f"Set APP_ENV to one of {', '.join(CONFIGS)} (got {name!r})")
    if name == "development" and environ is os.environ:
        # A .env file is a development convenience; production reads the real environment.
        from dotenv import load_dotenv

        load_dotenv(BASE_DIR / ".env", override=False)
    config = CONFIGS[name](environ)
    config.validate(serving)
    return config
