"""The dev server's logs: readable text in development, JSON elsewhere, one line a request."""

import logging
import sys

import pytest
from werkzeug._internal import _log as werkzeug_log

from app.core.request_log import TextLineFormatter, access_log
from config import CONFIGS, ConfigError, DevelopmentConfig, ProductionConfig


def test_each_environment_has_its_log_format():
    formats = {name: config({}).LOG_FORMAT for name, config in CONFIGS.items()}
    assert formats == {"development": "text", "testing": "json", "production": "json"}


def test_log_format_is_chosen_explicitly_and_checked():
    assert ProductionConfig({"LOG_FORMAT": "TEXT"}).LOG_FORMAT == "text"
    with pytest.raises(ConfigError, match="LOG_FORMAT must be one of json, text"):
        DevelopmentConfig({"LOG_FORMAT": "yaml"})


def access_record(**fields):
    defaults = {"request_id": "r1", "method": "GET", "path": "/api/v1/posts", "status": 200}
    defaults.update({"duration_ms": 12.34, "user_id": None, "remote_addr": "127.0.0.1"})
    return logging.makeLogRecord({"name": "folio.access", "msg": "request", **defaults, **fields})


def text(record):
    return TextLineFormatter().format(record)


def test_an_access_line_reads_as_method_path_status_duration_and_id():
    line = text(access_record())
    assert line.endswith(" GET /api/v1/posts 200 12.3 ms rid=r1")
    assert text(access_record(user_id=7)).endswith(" rid=r1 user=7")


def test_a_logged_exception_reads_as_a_multi_line_traceback():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.makeLogRecord(
            {"name": "folio.errors", "levelname": "ERROR", "msg": "unhandled error on GET /x"}
        )
        record.exc_info, record.request_id = sys.exc_info(), "r9"
    lines = text(record).splitlines()
    assert lines[0].endswith(" ERROR folio.errors: unhandled error on GET /x rid=r9")
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: boom"


def test_a_text_app_writes_one_readable_line_per_request(make_app, capsys):
    client = make_app(LOG_FORMAT="text").test_client()
    client.get("/health", headers={"X-Request-ID": "req-7"})
    [line] = [line for line in capsys.readouterr().out.splitlines() if "rid=req-7" in line]
    assert " GET /health 200 " in line and not line.startswith("{")


def werkzeug_lines(caplog):
    """What werkzeug's dev server logs for a request and at its start, as it logs them."""
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        werkzeug_log(
            "info", '127.0.0.1 - - [05/Dec/2026 06:00:00] "%s" %s %s', "GET / HTTP/1.1", 200, "-"
        )
        werkzeug_log("info", " * Running on http://127.0.0.1:5000")
    return [record.getMessage() for record in caplog.records if record.name == "werkzeug"]


def test_werkzeugs_access_line_is_dropped_but_not_its_banner(app, caplog):
    assert werkzeug_lines(caplog) == [" * Running on http://127.0.0.1:5000"]


def test_werkzeugs_access_line_stays_when_folio_logs_no_requests(app, caplog):
    level = access_log.level
    access_log.setLevel(logging.WARNING)  # LOG_LEVEL=WARNING silences Folio's line
    try:
        assert len(werkzeug_lines(caplog)) == 2
    finally:
        access_log.setLevel(level)
