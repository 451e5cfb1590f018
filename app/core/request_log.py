"""Request ids and the one JSON access-log line per request.

A client may send `X-Request-ID` (1 to 128 of letters, digits, `.`, `_`, `-`);
anything else is replaced by a fresh id, so a log line can always be trusted
to hold a safe, short value. The id is on every response, in every error body
and in the access log.
"""

import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

import orjson
from flask import g, request

REQUEST_ID_HEADER = "X-Request-ID"
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
access_log = logging.getLogger("folio.access")


def incoming_request_id():
    # From the environ: request.headers.get raises and catches an exception when
    # the header is absent, as it is for most clients.
    candidate = request.environ.get("HTTP_X_REQUEST_ID", "")
    return candidate if SAFE_REQUEST_ID.fullmatch(candidate) else uuid.uuid4().hex


def start_request():
    g.request_started = time.perf_counter()


def assign_request_id():
    g.request_id = incoming_request_id()


def request_duration_s():
    """Seconds since the request started, or None before start_request ran.

    The access log and the metrics share this clock so they never disagree.
    """
    started = g.get("request_started")
    return time.perf_counter() - started if started is not None else None


def send_request_id(response):
    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
    return response


def finish_request(response):
    duration_s = request_duration_s()
    access_log.info(
        "request",
        extra={
            "request_id": g.get("request_id"),
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round(duration_s * 1000, 2) if duration_s is not None else None,
            "user_id": g.get("user_id"),
            "remote_addr": request.remote_addr,  # the client's, when ProxyFix is configured
        },
    )
    return response


# What every LogRecord has; anything else on a record came from `extra=`.
RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonLineFormatter(logging.Formatter):
    """One JSON object per record: level, logger, message, the `extra` fields, the
    exception if any, and a UTC timestamp.

    Written for the line every request logs: python-json-logger's formatter,
    with its renames, defaults and field parsing, cost 2.3% of a single post's
    instructions (callgrind); this one does what Folio's lines need.
    """

    def format(self, record):
        line = {"levelname": record.levelname, "name": record.name, "message": record.getMessage()}
        for key, value in record.__dict__.items():
            if key not in RECORD_ATTRIBUTES:
                line[key] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        line["timestamp"] = datetime.fromtimestamp(record.created, UTC)
        return orjson.dumps(line, default=str).decode()


class StdoutHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout is at the time (it is replaced by test capture)."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _value):
        pass


def configure_logging(app):
    """JSON lines on stdout for Folio's loggers; idempotent across app instances."""
    folio = logging.getLogger("folio")
    folio.setLevel(app.config["LOG_LEVEL"])
    if not any(getattr(h, "folio_handler", False) for h in folio.handlers):
        handler = StdoutHandler()
        handler.setFormatter(JsonLineFormatter())
        handler.folio_handler = True
        folio.addHandler(handler)
    folio.propagate = app.testing  # pytest's caplog listens on the root logger


def init_request_logging(app):
    configure_logging(app)
    app.before_request(start_request)
    app.after_request(finish_request)
    if "request_id" not in app.config["BENCH_LAYERS_OFF"]:
        app.before_request(assign_request_id)
        app.after_request(send_request_id)
