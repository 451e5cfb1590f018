"""One place turns every error into RFC 9457 problem details.

Views raise `werkzeug` HTTP exceptions (or `abort(...)`); services raise a
`RuleViolation` for a well-formed request a rule refuses (422); webargs raises
422 with field messages; the JWT extension, the database and unexpected
exceptions all end here too, so a client never sees HTML, a traceback or a
second error format. (Conduit's blueprint re-renders these bodies in its own
shape: app/conduit/errors.py.) One exception to that: with `FLASK_DEBUG=1` an
unexpected exception goes on to Werkzeug's debugger (`debugger_wants`).
"""

import logging

from flask import current_app, g, json, request
from marshmallow import ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable
from werkzeug.http import HTTP_STATUS_CODES

from app.core.request_log import log_request

PROBLEM_MIMETYPE = "application/problem+json"
# Seconds a client should wait before retrying while the database is away.
DATABASE_RETRY_AFTER_S = 5
log = logging.getLogger("folio.errors")


class RuleViolation(Exception):
    """A well-formed request that a rule of the service refuses (following
    yourself, say). Services raise a subclass naming the rule in `detail`;
    every API answers it 422 with that detail, so no view maps it itself."""

    detail = "The request breaks a rule of the service."

    def __str__(self):
        return self.detail


def problem(status, detail=None, *, headers=None, **extra):
    """A problem-details response; `extra` adds members such as `errors`."""
    body = {
        "type": "about:blank",
        "title": HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": detail or "",
        "request_id": g.get("request_id"),
        **extra,
    }
    response = current_app.response_class(
        json.dumps(body), status=status, mimetype=PROBLEM_MIMETYPE
    )
    response.headers.extend(headers or {})
    return response


def field_errors(messages):
    """webargs keys messages by location ({"json": {...}}); clients want fields."""
    if not isinstance(messages, dict):
        return {"_schema": messages}
    merged = {}
    for errors in messages.values():
        if isinstance(errors, dict):
            merged.update(errors)
        else:
            merged.setdefault("_schema", []).extend(errors)
    return merged


def http_exception_to_problem(error):
    data = getattr(error, "data", None) or {}
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    headers.update(data.get("headers") or {})
    if error.code == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    extra = {}
    if "errors" in data:
        extra["errors"] = data["errors"]
    elif "messages" in data:
        extra["errors"] = field_errors(data["messages"])
    detail = data.get("message") or error.description
    return problem(error.code, detail, headers=headers, **extra)


def handle_rule_violation(error):
    return problem(422, error.detail)


def handle_validation_error(error):
    return problem(422, "The request is not valid.", errors=error.normalized_messages())


def handle_database_unavailable(error):
    """The database is down, restarting, unreachable, too slow or out of connections.

    Operational errors (refused or timed-out connects, a server that went away,
    a statement timeout), a full connection pool, and any driver error that
    SQLAlchemy recognised as a lost connection are all transient: 503 with
    Retry-After, never a 500 that reads as a bug.
    """
    log.error("database unavailable: %s", getattr(error, "orig", None) or error)
    # Flask-Limiter would raise it to its window's reset (25 to 55 s during an
    # outage); rate_limits.keep_retry_after_for_refusals puts this one back.
    g.retry_after_s = DATABASE_RETRY_AFTER_S
    return http_exception_to_problem(
        ServiceUnavailable(
            "The database is unavailable; try again shortly.",
            retry_after=DATABASE_RETRY_AFTER_S,
        )
    )


def handle_integrity_error(error):
    """A race the code's own checks could not see (two identical slugs, say): 409, not 500."""
    log.warning("integrity error answered 409: %s", getattr(error, "orig", error))
    return problem(409, "The request conflicts with data saved at the same time; retry.")


def handle_database_error(error):
    """Driver errors other than a lost connection are bugs, answered as a 500."""
    if error.connection_invalidated:
        return handle_database_unavailable(error)
    return handle_unexpected(error)


def handle_stale_data(_error):
    """A concurrent writer changed the row between our read and our write
    (SQLAlchemy's version counter caught it; see app/core/conditional.py)."""
    if "If-Match" in request.headers:
        return problem(412, "The resource has changed since that ETag; fetch it again.")
    return problem(409, "The resource was changed by another request at the same time; retry.")


def debugger_wants():
    """Whether an unexpected exception should leave the app for the debugger.

    With `FLASK_DEBUG=1` (app.debug) the developer asked for Werkzeug's
    interactive debugger, which only sees exceptions that escape the app; a
    500 problem would hide the bug. PROPAGATE_EXCEPTIONS=False keeps the 500.
    Tests (TESTING without debug) still get the 500 problem a client would.
    """
    return current_app.debug and current_app.config["PROPAGATE_EXCEPTIONS"] is not False


def handle_unexpected(error):
    if isinstance(error, HTTPException):
        return http_exception_to_problem(error)
    if debugger_wants():
        log_request(500)  # what the debugger's page answers; no response will log it
        raise error
    log.exception(
        "unhandled error on %s %s",
        request.method,
        request.path,
        extra={"request_id": g.get("request_id")},
    )
    return http_exception_to_problem(InternalServerError())


def register_error_handlers(app):
    app.register_error_handler(HTTPException, http_exception_to_problem)
    app.register_error_handler(RuleViolation, handle_rule_violation)
    app.register_error_handler(ValidationError, handle_validation_error)
    app.register_error_handler(OperationalError, handle_database_unavailable)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.register_error_handler(StaleDataError, handle_stale_data)
    app.register_error_handler(PoolTimeoutError, handle_database_unavailable)
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(Exception, handle_unexpected)
