"""X-Request-ID on every response, and one JSON access-log line per request."""

import json
import logging
import sys
from datetime import datetime, timedelta

import pytest

from app.core.request_log import JsonLineFormatter

UUID = "0b7e2b6e-4a61-4f7d-9d4b-2f0d3c1a9e55"


def test_sane_client_id_is_echoed(client):
    assert client.get("/health", headers={"X-Request-ID": UUID}).headers["X-Request-ID"] == UUID


@pytest.mark.parametrize("bad", ["", "has space", "x" * 129, "semi;colon", "new\nline"])
def test_unsafe_client_id_is_replaced(client, bad):
    # werkzeug refuses header values with newlines; send the rest as-is
    headers = {} if "\n" in bad else {"X-Request-ID": bad}
    generated = client.get("/health", headers=headers).headers["X-Request-ID"]
    assert generated != bad
    assert 1 <= len(generated) <= 128


def test_generated_ids_differ(client):
    first = client.get("/health").headers["X-Request-ID"]
    assert first != client.get("/health").headers["X-Request-ID"]


def test_errors_carry_the_id_in_body_and_header(client):
    response = client.get("/missing", headers={"X-Request-ID": "abc.DEF_1-2"})
    assert response.headers["X-Request-ID"] == "abc.DEF_1-2"
    assert response.get_json()["request_id"] == "abc.DEF_1-2"


def test_one_json_access_line_per_request(client, capsys):
    client.get("/health?x=1", headers={"X-Request-ID": "req-1"})
    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    [line] = [entry for entry in lines if entry.get("name") == "folio.access"]
    assert line["request_id"] == "req-1"
    assert line["method"] == "GET"
    assert line["path"] == "/health"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert "user_id" in line
    assert line["levelname"] == "INFO"


def test_access_log_is_not_emitted_below_its_level(client, caplog):
    with caplog.at_level(logging.WARNING, logger="folio.access"):
        client.get("/health")
    assert not [r for r in caplog.records if r.name == "folio.access"]


def format_line(record):
    return json.loads(JsonLineFormatter().format(record))


def test_a_log_line_holds_the_records_extra_fields_and_a_utc_timestamp():
    record = logging.makeLogRecord(
        {"name": "folio.test", "levelname": "WARNING", "msg": "%s left", "args": ("alice",)}
    )
    record.user_id, record.at = 7, object()  # as `extra=` sets them; any value is written
    line = format_line(record)
    assert list(line)[:3] == ["levelname", "name", "message"]
    assert line["message"] == "alice left" and line["user_id"] == 7
    assert line["at"].startswith("<object object")
    assert datetime.fromisoformat(line["timestamp"]).utcoffset() == timedelta(0)
    assert not {"args", "msg", "pathname", "exc_info", "process"} & line.keys()


def test_a_log_line_carries_the_traceback_of_a_logged_exception():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.makeLogRecord({"msg": "failed", "exc_info": sys.exc_info()})
    line = format_line(record)
    assert line["exc_info"].startswith("Traceback") and "ValueError: boom" in line["exc_info"]
