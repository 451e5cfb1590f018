"""Small hostile inputs that once answered 500: each is a 400 or 422 problem now.

Each listed input reproduces one of the 500s the hardening issue found (one
kilobyte or less each), and the fuzz test at the end generates more of the
same kinds for every operation with a JSON body or query arguments.
"""

import contextlib
import http.client
import json
import os
import socket
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.core.json import MAX_JSON_DEPTH
from app.extensions import db
from app.models import Category, Comment, Favorite, Follow, Post, Tag, User
from config import BASE_DIR
from tests.conftest import PASSWORD, bearer, build_app, dispose_engines
from tests.content_helpers import API, create_post
from tests.servers import Gunicorn, folio_server, production_env
from tests.test_errors import assert_problem

JSON = {"Content-Type": "application/json"}
FUZZ_EXAMPLES = int(os.environ.get("HOSTILE_INPUT_EXAMPLES", "6"))  # generated, per place
HUGE_NUMBER = "9" * 5000  # int() refuses more than 4,300 digits (sys.get_int_max_str_digits)
LONE_SURROGATE = "\\ud800"  # as JSON text: json.dumps refuses to write one


def nested(depth, inner=b"1"):
    return b"[" * depth + inner + b"]" * depth


def row_counts(app):
    with app.app_context():
        return {
            model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (User, Post, Tag, Category, Comment, Follow, Favorite)
        }


def post_raw(client, path, body, headers=None):
    return client.post(path, data=body, headers={**JSON, **(headers or {})})


# --- JSON nested too deeply ----------------------------------------------------


@pytest.mark.parametrize("depth", [500, 100_000])
def test_deeply_nested_json_at_login_is_400(client, depth):
    body = b'{"login": ' + nested(depth) + b', "password": "x"}'
    problem = assert_problem(post_raw(client, "/auth/login", body), 400)
    assert "nested" in problem["detail"]


def test_deeply_nested_json_in_a_post_is_400_and_stores_nothing(app, client, alice):
    before = row_counts(app)
    body = b'{"title": "t", "body": "b", "tags": ' + nested(500, b'"x"') + b"}"
    assert_problem(post_raw(client, f"{API}/posts", body, alice), 400)
    assert row_counts(app) == before


def test_json_nested_to_the_documented_limit_is_read(client, alice):
    """At the limit the body is read and judged by its schema (here: tags are strings)."""
    body = b'{"title": "t", "body": "b", "tags": ' + nested(MAX_JSON_DEPTH - 1, b'"x"') + b"}"
    problem = assert_problem(post_raw(client, f"{API}/posts", body, alice), 422)
    assert "tags" in problem["errors"]
    body = b'{"title": "t", "body": "b", "tags": ' + nested(MAX_JSON_DEPTH, b'"x"') + b"}"
    assert "nested" in assert_problem(post_raw(client, f"{API}/posts", body, alice), 400)["detail"]


# --- integers int() cannot read ------------------------------------------------


def test_a_huge_integer_in_a_body_is_400(app, client, alice):
    before = row_counts(app)
    body = f'{{"title": "t", "body": "b", "category": {HUGE_NUMBER}}}'.encode()
    problem = assert_problem(post_raw(client, f"{API}/posts", body, alice), 400)
    assert "digits" in problem["detail"]
    assert row_counts(app) == before


def test_a_huge_integer_at_login_is_400(client):
    body = f'{{"login": {HUGE_NUMBER}, "password": "x"}}'.encode()
    assert_problem(post_raw(client, "/auth/login", body), 400)


@pytest.mark.parametrize("argument", ["per_page", "page"])
def test_a_huge_integer_in_a_query_is_422(client, argument):
    assert_problem(client.get(f"{API}/posts?{argument}={HUGE_NUMBER}"), 422)


def test_a_huge_integer_as_a_post_reference_is_404(client):
    assert_problem(client.get(f"{API}/posts/{HUGE_NUMBER}"), 404)
    assert client.get(f"/api/articles/{HUGE_NUMBER}").status_code == 404  # Conduit's error shape


@pytest.mark.parametrize("number", [HUGE_NUMBER, str(10**20)], ids=["5000 digits", "20 digits"])
def test_a_huge_comment_id_is_404(client, number):
    assert_problem(client.get(f"{API}/comments/{number}"), 404)


def test_a_huge_revision_in_if_match_is_412(client, alice):
    post = create_post(client, alice)
    response = client.patch(
        f"{API}/posts/{post['id']}",
        json={"title": "changed"},
        headers={**alice, "If-Match": f'"{HUGE_NUMBER}-0123456789abcdef"'},
    )
    assert_problem(response, 412)
    unchanged = client.get(f"{API}/posts/{post['id']}", headers=alice).get_json()
    assert unchanged["title"] == post["title"]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "-1e999"])
def test_numbers_json_cannot_carry_are_400(client, number):
    """The standard library reads NaN and Infinity (not JSON) and 1e400 (as inf);
    orjson, which writes Folio's answers, refuses them both ways."""
    body = f'{{"login": "alice", "password": "x", "extra": {number}}}'.encode()
    problem = assert_problem(post_raw(client, "/auth/login", body), 400)
    assert "number" in problem["detail"]


# --- lone surrogates -----------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        f'{{"login": "{LONE_SURROGATE}", "password": "x"}}',
        f'{{"login": "alice", "password": "{LONE_SURROGATE}"}}',
        f'{{"login": "alice", "password": "x", "{LONE_SURROGATE}": 1}}',
    ],
    ids=["login", "password", "a key"],
)
def test_a_lone_surrogate_at_login_is_400(client, make_user, body):
    make_user("alice")
    problem = assert_problem(post_raw(client, "/auth/login", body.encode()), 400)
    assert "surrogate" in problem["detail"]


@pytest.mark.parametrize(
    "body",
    [
        f'{{"title": "{LONE_SURROGATE}", "body": "b"}}',
        f'{{"title": "t", "body": "b", "tags": ["{LONE_SURROGATE}"]}}',
        f'{{"title": "t", "body": "b", "{LONE_SURROGATE}": "x"}}',
    ],
    ids=["title", "tag", "a key"],
)
def test_a_lone_surrogate_in_a_post_is_400_and_stores_nothing(app, client, alice, body):
    before = row_counts(app)
    assert_problem(post_raw(client, f"{API}/posts", body.encode(), alice), 400)
    assert row_counts(app) == before


def test_a_lone_surrogate_at_registration_is_400_and_stores_nothing(app, client):
    before = row_counts(app)
    body = f'{{"username": "bobby", "email": "b@example.com", "password": "{LONE_SURROGATE * 9}"}}'
    assert_problem(post_raw(client, "/auth/register", body.encode()), 400)
    assert row_counts(app) == before


def test_a_surrogate_pair_is_one_character_and_welcome(client, alice):
    body = b'{"title": "\\ud83d\\ude00", "body": "b"}'
    response = post_raw(client, f"{API}/posts", body, alice)
    assert response.status_code == 201
    assert response.get_json()["title"] == "\N{GRINNING FACE}"


def test_input_schemas_refuse_lone_surrogates_on_the_field():
    """Text that reaches a schema by another road than a JSON body is refused there too."""
    from marshmallow import ValidationError

    from app.schemas.user import LoginSchema

    with pytest.raises(ValidationError) as refused:
        LoginSchema().load({"login": "\ud800", "password": "x\udfff"})
    assert set(refused.value.messages) == {"login", "password"}


# --- text that grows when normalised -------------------------------------------

GROWING_TAG = "İstanbul İzmir İnegöl İskenderun"  # 32 characters, 36 once lower-cased


def test_a_tag_longer_than_the_column_once_lower_cased_is_422(app, client, alice):
    assert len(GROWING_TAG) == 32 and len(GROWING_TAG.lower()) == 36
    before = row_counts(app)
    body = {"title": "t", "body": "b", "tags": [GROWING_TAG]}
    problem = assert_problem(client.post(f"{API}/posts", json=body, headers=alice), 422)
    assert "tags" in problem["errors"]
    assert row_counts(app) == before


def test_a_tag_that_fits_once_lower_cased_is_kept_lower_cased(client, alice):
    post = create_post(client, alice, tags=["İzmir"])
    assert post["tags"] == ["İzmir".lower()]


@pytest.mark.parametrize(
    "name", ["\N{LATIN SMALL LIGATURE FFI}" * 64, "\N{SQUARE MHZ}" * 64], ids=["ffi", "MHz"]
)
def test_a_category_name_whose_slug_grows_past_the_column_is_created(client, editor, name):
    """NFKD spells a ligature (or ㎒) in three ASCII letters: the slug is cut to fit."""
    response = client.post(f"{API}/categories", json={"name": name}, headers=editor)
    assert response.status_code == 201, response.get_json()
    slug = response.get_json()["slug"]
    assert 0 < len(slug) <= Category.slug.type.length
    assert client.get(f"{API}/categories/{slug}").status_code == 200


def test_a_post_title_whose_slug_grows_is_created(client, alice):
    post = create_post(client, alice, title="\N{LATIN SMALL LIGATURE FFI}" * 200)
    assert len(post["slug"]) <= Post.slug.type.length


# --- search text full of operators ---------------------------------------------

OPERATOR_RUNS = ["-", "- ", "-(", "-!", " -", "-&", "-|"]


@pytest.mark.parametrize("run", OPERATOR_RUNS)
@pytest.mark.parametrize("tail", ["", "bees", " bees"])
def test_search_with_many_negations_answers(client, alice, run, tail):
    """33 negations in a row overflowed PostgreSQL's tsquery stack (a 500)."""
    create_post(client, alice, title="Bees", status="published")
    q = (run * 100)[: 200 - len(tail)] + tail
    response = client.get(f"{API}/posts", query_string={"q": q})
    assert response.status_code == 200, response.get_json()


@pytest.mark.postgres
def test_one_negation_still_excludes_after_a_run_of_them(client, alice):
    create_post(client, alice, title="Bees and honey", status="published")
    create_post(client, alice, title="Bees and wasps", status="published")
    listed = client.get(f"{API}/posts", query_string={"q": "bees " + "-" * 40 + "honey"})
    assert [post["title"] for post in listed.get_json()["items"]] == ["Bees and wasps"]


# --- chunked bodies over the limit, through real servers -----------------------


def send_chunked(port, path, body, chunk_size=512):
    """POST `body` with Transfer-Encoding: chunked over a raw socket; (status, headers, body)."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + chunk_size]), body[i : i + chunk_size])
        for i in range(0, len(body), chunk_size)
    )
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        # The server may answer and close before it has taken the whole body.
        with contextlib.suppress(OSError):
            connection.sendall(head + chunks + b"0\r\n\r\n")
        answer = http.client.HTTPResponse(connection)
        answer.begin()
        return answer.status, answer.getheader("Content-Type"), answer.read()


def assert_chunked_limit(port):
    too_big = b'{"login": "' + b"x" * 4000 + b'", "password": "x"}'
    status, content_type, raw = send_chunked(port, "/auth/login", too_big)
    assert (status, content_type) == (413, "application/problem+json"), raw
    assert json.loads(raw)["status"] == 413
    # within the limit, the body is read and judged: an empty login is 422
    status, content_type, raw = send_chunked(port, "/auth/login", b'{"login": "", "password": "x"}')
    assert (status, content_type) == (422, "application/problem+json"), raw


@pytest.mark.processes
@pytest.mark.slow
def test_a_chunked_body_over_the_limit_is_413_from_gunicorn_alone(tmp_path):
    env = production_env(DATABASE_URL=f"sqlite:///{tmp_path / 'folio.db'}", MAX_CONTENT_LENGTH=1024)
    server = Gunicorn(env, tmp_path / "gunicorn.log").start()
    try:
        assert_chunked_limit(server.port)
    finally:
        server.stop()


@pytest.mark.processes
@pytest.mark.slow
def test_a_chunked_body_over_the_limit_is_413_from_the_dev_server(tmp_path):
    with folio_server(tmp_path, MAX_CONTENT_LENGTH="1024") as url:
        assert_chunked_limit(int(url.rsplit(":", 1)[1]))


# --- fuzz: the same kinds of input, for every operation --------------------------
#
# Schemathesis generates values that fit (or just miss) the spec; the inputs
# above are of another kind. This test generates them for every place an
# operation of the app's OpenAPI document takes input: each JSON body field
# (Conduit's envelopes walked into), the whole body, each query argument, and
# If-Match, as an anonymous caller and as an admin (who may call everything).
# One test per place: the issue's own inputs, then six generated with a fixed
# seed, each sent by both callers: about 3,000 requests in all.

SPEC = json.loads((BASE_DIR / "docs" / "openapi.json").read_text())
GROWING = ["İ", "\N{LATIN SMALL LIGATURE FFI}", "\N{SQUARE MHZ}", "\N{OHM SIGN}"]
growing_text = st.builds(
    lambda char, count: char * count, st.sampled_from(GROWING), st.integers(1, 300)
)
operator_runs = st.builds(
    lambda run, count, tail: (run * count)[: 200 - len(tail)] + tail,
    st.sampled_from(["-", "- ", "-(", "-!", "-&", "-|", '-"', "!", "<->"]),
    st.integers(40, 200),
    st.sampled_from(["", "x", " bees"]),
)
operator_text = st.one_of(operator_runs, st.text(alphabet="-!&|:*()\"'<> \\xé", max_size=200))
huge_numbers = st.sampled_from([HUGE_NUMBER, "-" + HUGE_NUMBER, str(2**64), "1" + "0" * 30])
# The issue's own examples, sent to every place; then generated ones of each kind.
# JSON text is written by hand: json.dumps would refuse the lone surrogates; in a
# query a lone surrogate travels as the UTF-8 bytes it would have.
KNOWN_JSON = [
    nested(500).decode(),
    nested(5000).decode(),
    "NaN",
    HUGE_NUMBER,
    "1e400",
    '"\\ud800"',
    '{"\\ud800": 1}',
    json.dumps(GROWING_TAG, ensure_ascii=False),
    json.dumps("\N{LATIN SMALL LIGATURE FFI}" * 64, ensure_ascii=False),
    json.dumps("-" * 40 + "x"),
]
KNOWN_QUERY = [HUGE_NUMBER.encode(), b"-" * 40 + b"x", GROWING_TAG.encode(), b"\xed\xa0\x80"]
hostile_json = st.one_of(
    st.integers(MAX_JSON_DEPTH, 3000).map(lambda depth: nested(depth).decode()),
    st.integers(MAX_JSON_DEPTH, 300).map(lambda depth: '{"a": ' * depth + "1" + "}" * depth),
    huge_numbers,
    st.sampled_from(['"x\\udfffy"', '["\\udbff"]']),
    growing_text.map(lambda text: json.dumps(text, ensure_ascii=False)),
    operator_text.map(json.dumps),
)
hostile_query = st.one_of(
    huge_numbers.map(str.encode),
    growing_text.map(str.encode),
    operator_text.map(str.encode),
)
PLACEHOLDER = "__hostile__"
FIELD_EXAMPLES = {
    "title": "Fuzzed",
    "body": "Some text.",
    "email": "fuzz@example.com",
    "username": "fuzzer",
    "password": "fuzz password 1",
    "new_password": "fuzz password 2",
    "login": "fuzzadmin",
    "name": "Fuzz category",
}


def resolve(schema):
    while "$ref" in schema:
        schema = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def kind_of(schema):
    kinds = schema.get("type", "string")
    return next(kind for kind in ([kinds] if isinstance(kinds, str) else kinds) if kind != "null")


def skeleton(schema):
    """A body with every required field given a plain, likely valid value, so a
    hostile value in one field meets the code behind the validation of the others."""
    schema = resolve(schema)
    body = {}
    for name in schema.get("required", []):
        field = resolve(schema["properties"][name])
        kind = kind_of(field)
        if "enum" in field:
            body[name] = field["enum"][0]
        elif kind == "object":
            body[name] = skeleton(field)
        else:
            plain = {"array": [], "integer": 1, "boolean": True}
            body[name] = plain.get(kind, FIELD_EXAMPLES.get(name, "plain text"))
    return body


def field_paths(schema, prefix=()):
    schema = resolve(schema)
    for name, field in schema.get("properties", {}).items():
        field = resolve(field)
        if kind_of(field) == "object" and "properties" in field:
            yield from field_paths(field, (*prefix, name))
        elif not field.get("readOnly"):
            yield (*prefix, name)


def places():
    """(method, path template, where, name) for every place an operation takes input."""
    found = []
    for template, item in SPEC["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch"}:
                continue
            method = method.upper()
            for parameter in operation.get("parameters", []):
                if isinstance(parameter, dict) and parameter.get("in") == "query":
                    found.append((method, template, "query", parameter["name"]))
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema is None:
                continue
            found += [(method, template, "body", path) for path in field_paths(schema)]
            found.append((method, template, "whole body", None))
            if method in {"PATCH", "PUT"}:
                found.append((method, template, "if-match", None))
    return found


PLACES = places()


def place_id(place):
    method, template, where, name = place
    return " ".join(
        [method, template, where, ".".join(name) if isinstance(name, tuple) else name or ""]
    )


def body_schema(method, template):
    operation = SPEC["paths"][template][method.lower()]
    return operation["requestBody"]["content"]["application/json"]["schema"]


def with_hostile(body, path, raw_value):
    """The body as JSON text, with `raw_value` (JSON text) at `path`."""
    target = body
    for name in path[:-1]:
        target = target.setdefault(name, {})
    target[path[-1]] = PLACEHOLDER
    return json.dumps(body).replace(json.dumps(PLACEHOLDER), raw_value)


@pytest.fixture(scope="module")
def fuzz_app(database, database_url):
    """One app for every place (building one per test took half the run), with
    login limits out of the way so login places are fuzzed past a 429."""
    app = build_app(
        database_url,
        RATELIMIT_LOGIN_PER_ACCOUNT="100000/minute",
        RATELIMIT_LOGIN_PER_ADDRESS="100000/minute",
    )
    yield app
    dispose_engines(app)


@pytest.fixture
def fuzz_world(fuzz_app, make_user):
    """An admin, and one of everything for a path to name."""
    client = fuzz_app.test_client()
    make_user("fuzzadmin", role="admin")
    make_user("target")  # the admin edits this one, not themselves
    login = client.post("/auth/login", json={"login": "fuzzadmin", "password": PASSWORD})
    admin = bearer(login.get_json()["access_token"])
    category = client.post(f"{API}/categories", json={"name": "Fuzz"}, headers=admin).get_json()
    post = create_post(client, admin, status="published", category=category["slug"], tags=["a"])
    comment = client.post(f"{API}/posts/{post['id']}/comments", json={"body": "c"}, headers=admin)
    path_values = {
        "{reference}": str(post["id"]),
        "{comment_id}": str(comment.get_json()["id"]),
        "{username}": "target",
        f"{API}/categories/{{slug}}": category["slug"],
        "/api/articles/{slug}": post["slug"],
    }
    return fuzz_app, client, admin, path_values


def concrete_path(template, path_values):
    path = template
    for name in ("{reference}", "{comment_id}", "{username}"):
        path = path.replace(name, path_values[name])
    if "{slug}" in path:
        path = path.replace("{slug}", path_values[template.split("{slug}")[0] + "{slug}"])
    return path


def is_conduit(path):
    return path.startswith("/api/") and not path.startswith(f"{API}/")


def assert_answered_cleanly(app, response, path, before):
    assert response.status_code < 500, response.get_data()[:300]
    if response.status_code < 400:
        return
    if is_conduit(path):  # Conduit's own error shape (app/conduit/errors.py)
        assert response.mimetype == "application/json"
        assert "errors" in response.get_json()
    else:
        assert response.mimetype == "application/problem+json"
    assert row_counts(app) == before, "refused input left rows behind"


def hostile_request(method, template, where, name, value):
    """The keyword arguments of a test-client call with `value` in its place."""
    if where == "query":
        return {"query_string": f"{name}={quote_from_bytes(value)}"}
    body = skeleton(body_schema(method, template))
    headers = dict(JSON)
    if where == "if-match":
        headers["If-Match"] = f'"{HUGE_NUMBER}-0123456789abcdef"'
        raw = json.dumps(body)
    elif where == "whole body":
        raw = value
    else:
        raw = with_hostile(body, name, value)
    return {"data": raw.encode(), "headers": headers}


@pytest.mark.slow
@pytest.mark.parametrize(("method", "template", "where", "name"), PLACES, ids=map(place_id, PLACES))
def test_hostile_input_in_every_place_answers_cleanly(fuzz_world, method, template, where, name):
    app, client, admin, path_values = fuzz_world
    path = concrete_path(template, path_values)

    def send(value):
        request = hostile_request(method, template, where, name, value)
        for caller in ({}, admin):  # anonymous, then an admin
            before = row_counts(app)
            headers = {**request.get("headers", {}), **caller}
            response = client.open(path, method=method, **{**request, "headers": headers})
            assert_answered_cleanly(app, response, path, before)

    if where == "if-match":
        send(None)
        return
    for value in KNOWN_QUERY if where == "query" else KNOWN_JSON:
        send(value)

    @settings(
        max_examples=FUZZ_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(value=hostile_query if where == "query" else hostile_json)
    def send_generated(value):
        send(value)

    send_generated()


def test_the_fuzz_covers_every_operation_that_takes_input():
    operations = {(method, template) for method, template, _, _ in PLACES}
    assert len(operations) >= 27 and len(PLACES) >= 100
