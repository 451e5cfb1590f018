"""Request ids and the one access-log line per request.

Two formats, chosen by LOG_FORMAT: `json` (production and tests) writes one
JSON object per line for a log collector; `text` (the dev server) writes what a
person reads in a terminal, `GET /api/v1/posts 200 12.3 ms rid=...`, with
tracebacks on their own lines. Either way a request logs one line: werkzeug's
own access line is dropped while Folio's is on.

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
    log_request(response.status_code)
    return response


def log_request(status):
    """The access line. finish_request writes it for every response; a request whose
    exception goes on to the debugger (app/core/errors.py) has none, and writes it there."""
    duration_s = request_duration_s()
    access_log.info(
        "request",
        extra={
            "request_id": g.get("request_id"),
            "method": request.method,
            "path": request.path,
            "status": status,
            "duration_ms": round(duration_s * 1000, 2) if duration_s is not None else None,
            "user_id": g.get("user_id"),
            "remote_addr": request.remote_addr,  # the client's, when ProxyFix is configured
        },
    )


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


class TextLineFormatter(logging.Formatter):
    """A line a person reads: the time, then the request's method, path, status,
    duration and id for access lines, or the level, logger and message for
    anything else; a logged exception's traceback follows as plain lines."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")

    def formatMessage(self, record):
        if record.name != access_log.name:
            request_id = getattr(record, "request_id", None)
            return super().formatMessage(record) + (f" rid={request_id}" if request_id else "")
        duration = f"{record.duration_ms:.1f} ms" if record.duration_ms is not None else "- ms"
        user = f" user={record.user_id}" if record.user_id is not None else ""
        return (
            f"{record.asctime} {record.method} {record.path} {record.status} {duration}"
            f" rid={record.request_id}{user}"
        )


LOG_FORMATTERS = {"json": JsonLineFormatter, "text": TextLineFormatter}


def is_werkzeug_access_line(record):
    """werkzeug's dev server logs each request as `<address> - - [<date>] "%s" %s %s`
    (WSGIRequestHandler.log_request); its banner, reloader and errors differ."""
    return record.name == "werkzeug" and str(record.msg).endswith('] "%s" %s %s')


def drop_werkzeug_access_line(record):
    """A logging filter: one line per request, Folio's, whenever Folio logs requests."""
    return not (is_werkzeug_access_line(record) and access_log.isEnabledFor(logging.INFO))


class StdoutHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout is at the time (it is replaced by test capture)."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _value):
        pass


def configure_logging(app):
    """Folio's loggers on stdout in LOG_FORMAT; idempotent across app instances
    (the last app made chooses the level and format, as for any process-wide logger)."""
    folio = logging.getLogger("folio")
    folio.setLevel(app.config["LOG_LEVEL"])
    handler = next((h for h in folio.handlers if getattr(h, "folio_handler", False)), None)
    if handler is None:
        handler = StdoutHandler()
        handler.folio_handler = True
        folio.addHandler(handler)
    handler.setFormatter(LOG_FORMATTERS[app.config["LOG_FORMAT"]]())
    folio.propagate = app.testing  # pytest's caplog listens on the root logger
    werkzeug = logging.getLogger("werkzeug")
    if drop_werkzeug_access_line not in werkzeug.filters:
        werkzeug.addFilter(drop_werkzeug_access_line)


def init_request_logging(app):
    configure_logging(app)
    app.before_request(start_request)
    app.after_request(finish_request)
    if "request_id" not in app.config["BENCH_LAYERS_OFF"]:
        app.before_request(assign_request_id)
        app.after_request(send_request_id)
