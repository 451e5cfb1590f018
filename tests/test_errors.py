"""Every error is RFC 9457 problem details: never HTML, never a traceback."""

import io
import logging

import pytest
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.extensions import api

PROBLEM = "application/problem+json"


class EchoSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(max=10))
    tags = fields.List(fields.String())


@pytest.fixture
def app(make_app):
    """An app with a few routes that exist only to fail in known ways."""
    app = make_app(MAX_CONTENT_LENGTH=1024)
    blp = Blueprint("probe", __name__, url_prefix="/probe")

    @blp.route("/echo", methods=["POST"])
    @blp.arguments(EchoSchema)
    @blp.response(201, EchoSchema)
    def echo(data):
        return data

    @blp.route("/boom")
    def boom():
        raise RuntimeError("secret internals: password=hunter2")

    api.register_blueprint(blp)
    return app


def assert_problem(response, status):
    assert response.status_code == status
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["type"] == "about:blank"
    assert body["status"] == status
    assert body["title"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


def test_unknown_url_is_404_problem(client):
    assert_problem(client.get("/no/such/page"), 404)


def test_wrong_method_is_405_problem_with_allow(client):
    response = client.delete("/health")
    assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]


def test_valid_body_passes(client):
    response = client.post("/probe/echo", json={"name": "ok"})
    assert response.status_code == 201
    assert response.get_json() == {"name": "ok"}


def test_validation_error_is_422_with_field_errors(client):
    body = assert_problem(client.post("/probe/echo", json={"name": "x" * 11, "tags": [1]}), 422)
    assert set(body["errors"]) == {"name", "tags"}
    assert body["errors"]["tags"] == {"0": ["Not a valid string."]}


def test_missing_field_is_422(client):
    body = assert_problem(client.post("/probe/echo", json={}), 422)
    assert body["errors"] == {"name": ["Missing data for required field."]}


def test_unknown_field_is_422(client):
    body = assert_problem(client.post("/probe/echo", json={"name": "ok", "role": "admin"}), 422)
    assert body["errors"] == {"role": ["Unknown field."]}


def test_malformed_json_is_400(client):
    response = client.post("/probe/echo", data="{not json", content_type="application/json")
    assert_problem(response, 400)


def test_non_json_body_is_415(client):
    response = client.post(
        "/probe/echo", data="name=ok", content_type="application/x-www-form-urlencoded"
    )
    assert_problem(response, 415)


def test_body_over_the_limit_is_413(client):
    response = client.post("/probe/echo", json={"name": "x" * 2000})
    assert_problem(response, 413)


def test_unexpected_exception_is_generic_500_and_logged(client, caplog):
    with caplog.at_level(logging.ERROR, logger="folio.errors"):
        response = client.get("/probe/boom")
    body = assert_problem(response, 500)
    assert "hunter2" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert body["detail"]
    [record] = [r for r in caplog.records if r.name == "folio.errors"]
    assert record.exc_info and "hunter2" in str(record.exc_info[1])


def test_trailing_slash_matches_without_redirect(client):
    assert client.get("/health/").status_code == 200
    assert client.get("/health").status_code == 200


def test_a_204_names_no_content_type(client, make_user, login):
    make_user("alice")
    token = login("alice")["access_token"]
    response = client.post("/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 204
    assert "Content-Type" not in response.headers


@pytest.mark.parametrize(
    "path", ["//health", "/health//", "//api/v1//posts", "/api//v1/posts/", "/api/v1/tags//"]
)
def test_doubled_slashes_match_as_one_without_redirect(client, path):
    """Werkzeug answered these with a 308 and an HTML body; nginx merges slashes too."""
    response = client.get("/", environ_overrides={"PATH_INFO": path})
    assert response.status_code == 200
    assert response.mimetype == "application/json"


def test_doubled_slashes_in_an_unknown_path_are_a_404_problem(client):
    response = client.get("/", environ_overrides={"PATH_INFO": "/api/v1//nothing//here"})
    assert_problem(response, 404)


# --- chunked bodies: no Content-Length, so the limit is met while reading ------

CHUNKED_JSON = {"Transfer-Encoding": "chunked", "Content-Type": "application/json"}


def post_chunked(client, path, body):
    """As the dev server and gunicorn present a chunked body: a stream the server
    ends itself (`wsgi.input_terminated`), with no Content-Length."""
    return client.post(
        path,
        input_stream=io.BytesIO(body),
        headers=CHUNKED_JSON,
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_a_chunked_body_over_the_limit_is_413(client):
    """Werkzeug stops reading at MAX_CONTENT_LENGTH without a word, so the cut-off
    body was parsed and answered 400 as malformed JSON."""
    body = b'{"name": "' + b"x" * 2000 + b'"}'
    assert_problem(post_chunked(client, "/probe/echo", body), 413)


@pytest.mark.parametrize("padding", [0, 1024 - len(b'{"name": "ok"}')], ids=["small", "at limit"])
def test_a_chunked_body_within_the_limit_is_read(client, padding):
    body = b'{"name": "ok"}' + b" " * padding
    assert len(body) <= 1024
    response = post_chunked(client, "/probe/echo", body)
    assert response.status_code == 201
    assert response.get_json() == {"name": "ok"}
