"""The OpenAPI document: valid, complete, current, and saying what the contract says.

flask-smorest keeps one spec per Api object, that of the app it initialised
last, so each test reads the spec right after building its app.
"""

import json

import jsonschema_rs
import pytest
from flask_smorest import Blueprint
from flask_smorest.spec.plugins import FlaskPlugin
from marshmallow import Schema, ValidationError, fields
from marshmallow.validate import URL, Email
from openapi_spec_validator import validate

from app.core.openapi import PROBLEM_MIMETYPE, PROBLEMS, SERVER_PROBLEMS, bearer_auth, problems
from app.extensions import api
from app.schemas.post import PostCreateSchema, tag_name
from config import BASE_DIR

COMMITTED_SPEC = BASE_DIR / "docs" / "openapi.json"
# Every route under these prefixes is an API operation and must be in the spec.
DOCUMENTED_PREFIXES = ("/auth", "/api", "/health")
UNDOCUMENTED_METHODS = {"HEAD", "OPTIONS"}


def spec_of(app):
    return app.test_client().get("/openapi.json").get_json()


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield f"{method.upper()} {path}", operation


def resolve(spec, obj):
    if "$ref" not in obj:
        return obj
    *_, section, name = obj["$ref"].split("/")
    return spec["components"][section][name]


def undocumented_routes(app, spec):
    """`METHOD /path` of every API route that the spec does not describe."""
    missing = []
    for rule in app.url_map.iter_rules():
        if not any(rule.rule == p or rule.rule.startswith(p + "/") for p in DOCUMENTED_PREFIXES):
            continue
        path = FlaskPlugin.flaskpath2openapi(rule.rule)
        for method in sorted(rule.methods - UNDOCUMENTED_METHODS):
            if method.lower() not in spec["paths"].get(path, {}):
                missing.append(f"{method} {path}")
    return missing


@pytest.fixture
def spec(make_app):
    return spec_of(make_app())


def test_spec_is_valid_openapi(spec):
    validate(spec)
    assert spec["openapi"].startswith("3.")


def test_every_api_route_is_documented(make_app):
    app = make_app()
    assert undocumented_routes(app, spec_of(app)) == []


def test_an_undocumented_route_is_caught(make_app):
    app = make_app()
    app.add_url_rule("/api/v1/secret/<int:id>", "secret", lambda id: "", methods=["GET", "PUT"])
    assert undocumented_routes(app, spec_of(app)) == [
        "GET /api/v1/secret/{id}",
        "PUT /api/v1/secret/{id}",
    ]


def test_every_operation_has_a_summary_from_its_docstring(spec):
    assert [name for name, operation in operations(spec) if not operation.get("summary")] == []
    assert spec["paths"]["/health"]["get"]["summary"] == "Liveness: the process is up."


def test_every_response_carries_x_request_id(spec):
    """Except the HTTP server's own answers (414, 431): the app never saw those requests."""
    missing = [
        f"{name} {status}"
        for name, operation in operations(spec)
        for status, response in operation["responses"].items()
        if "X-Request-ID" not in resolve(spec, response).get("headers", {})
        and int(status) not in SERVER_PROBLEMS
    ]
    assert missing == []
    header = spec["components"]["headers"]["X-Request-ID"]
    assert header["required"] is True


def test_no_catch_all_default_response(spec):
    assert [
        name for name, operation in operations(spec) if "default" in operation["responses"]
    ] == []


def test_bearer_security_scheme_is_declared(spec):
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token from `POST /auth/login`.",
    }


def test_problem_responses_are_problem_json_with_the_problem_schema(spec):
    for status, (name, *_) in PROBLEMS.items():
        content = spec["components"]["responses"][name]["content"]
        schema = "ServerProblem" if status in SERVER_PROBLEMS else "Problem"
        assert content == {PROBLEM_MIMETYPE: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
    assert spec["components"]["schemas"]["Problem"]["additionalProperties"] is True


def test_readiness_documents_its_503(spec):
    responses = spec["paths"]["/health/ready"]["get"]["responses"]
    assert responses["503"] == {"$ref": "#/components/responses/ServiceUnavailable"}


def test_served_spec_is_the_committed_file(make_app):
    """docs/openapi.json is what `make openapi` (flask openapi write) writes today."""
    app = make_app()
    generated = app.test_cli_runner().invoke(args=["openapi", "print"]).output
    committed = COMMITTED_SPEC.read_text() if COMMITTED_SPEC.exists() else ""
    assert committed == generated, "docs/openapi.json is stale: run `make openapi` and commit it"
    assert json.loads(committed) == spec_of(app)


# The rules that add the contract's shared responses, shown on a probe blueprint.


class ItemSchema(Schema):
    name = fields.String(required=True)


class ListArgs(Schema):
    page = fields.Integer()
    per_page = fields.Integer()


class IfNoneMatchArgs(Schema):
    if_none_match = fields.String(data_key="If-None-Match")


class IfMatchArgs(Schema):
    if_match = fields.String(data_key="If-Match")


@pytest.fixture
def probe_spec(make_app):
    """The spec of an app with probe operations that each show one rule."""
    app = make_app()
    blp = Blueprint("probe", __name__, url_prefix="/probe")

    @blp.route("/items", methods=["GET"])
    @blp.arguments(ListArgs, location="query")
    @blp.response(200, ItemSchema(many=True))
    def list_items(args):
        """List items."""

    @blp.route("/items", methods=["POST"])
    @bearer_auth
    @problems(403, 409)
    @blp.arguments(ItemSchema)
    @blp.response(201, ItemSchema)
    def create_item(data):
        """Create an item."""

    @blp.route("/items/<int:item_id>", methods=["GET"])
    @blp.arguments(IfNoneMatchArgs, location="headers")
    @blp.response(200, ItemSchema)
    @blp.alt_response(404, description="No item with that id.")
    def get_item(args, item_id):
        """Get an item."""

    @blp.route("/items/<int:item_id>", methods=["PATCH"])
    @blp.arguments(IfMatchArgs, location="headers")
    @blp.arguments(ItemSchema)
    @blp.response(200, ItemSchema)
    def update_item(headers, data, item_id):
        """Update an item."""

    api.register_blueprint(blp)
    return spec_of(app)


def responses(spec, method, path):
    return spec["paths"][path][method]["responses"]


def refs(responses):
    return {status: r["$ref"].rsplit("/", 1)[-1] for status, r in responses.items() if "$ref" in r}


def header_names(response):
    return set(response.get("headers", {}))


def test_probe_spec_is_valid(probe_spec):
    validate(probe_spec)


def test_a_list_documents_link_and_its_422(probe_spec):
    answers = responses(probe_spec, "get", "/probe/items")
    assert refs(answers) == {
        "414": "URITooLong",
        "422": "UnprocessableContent",
        "429": "TooManyRequests",
        "431": "RequestHeaderFieldsTooLarge",
        "503": "ServiceUnavailable",
    }
    assert header_names(answers["200"]) == {"X-Request-ID", "Link"}


def test_rate_limited_operations_document_429_and_probes_do_not(spec):
    assert "429" in spec["paths"]["/api/v1/posts"]["get"]["responses"]
    assert "429" not in spec["paths"]["/health"]["get"]["responses"]


def test_a_body_documents_400_413_415_422(probe_spec):
    answers = refs(responses(probe_spec, "post", "/probe/items"))
    for status in ("400", "413", "415", "422"):
        assert answers[status] == PROBLEMS[int(status)][0]


def test_bearer_auth_documents_security_and_401(probe_spec):
    operation = probe_spec["paths"]["/probe/items"]["post"]
    assert operation["security"] == [{"bearerAuth": []}]
    assert refs(operation["responses"])["401"] == "Unauthorized"
    unauthorized = probe_spec["components"]["responses"]["Unauthorized"]
    assert header_names(unauthorized) == {"X-Request-ID", "WWW-Authenticate"}


def test_anonymous_operations_document_no_401(probe_spec):
    assert "401" not in responses(probe_spec, "get", "/probe/items")
    assert "security" not in probe_spec["paths"]["/probe/items"]["get"]


def test_problems_decorator_documents_the_endpoints_own_statuses(probe_spec):
    answers = refs(responses(probe_spec, "post", "/probe/items"))
    assert answers["403"] == "Forbidden"
    assert answers["409"] == "Conflict"
    assert "404" not in answers  # no path parameter


def test_a_path_parameter_documents_404_unless_the_view_does(probe_spec):
    assert refs(responses(probe_spec, "patch", "/probe/items/{item_id}"))["404"] == "NotFound"
    own = responses(probe_spec, "get", "/probe/items/{item_id}")["404"]
    assert own["description"] == "No item with that id."
    assert header_names(own) == {"X-Request-ID"}


def test_if_none_match_documents_304_and_etag(probe_spec):
    answers = responses(probe_spec, "get", "/probe/items/{item_id}")
    assert refs(answers)["304"] == "NotModified"
    assert header_names(answers["200"]) == {"X-Request-ID", "ETag", "Cache-Control", "Vary"}
    assert "412" not in answers


def test_lists_document_if_none_match_beside_their_query_arguments(spec):
    """A conditional list keeps its query parameters and adds If-None-Match and 304."""
    for path in ("/api/v1/posts", "/api/v1/tags", "/api/v1/feed", "/api/articles"):
        operation = spec["paths"][path]["get"]
        names = {p.get("name") or p["$ref"].rsplit("/", 1)[-1] for p in operation["parameters"]}
        assert "If-None-Match" in names and names - {"If-None-Match"}, path
        assert operation["responses"]["304"] == {"$ref": "#/components/responses/NotModified"}
        assert {"ETag", "Cache-Control", "Vary"} <= set(operation["responses"]["200"]["headers"])


def test_if_match_documents_412_and_etag(probe_spec):
    answers = responses(probe_spec, "patch", "/probe/items/{item_id}")
    assert refs(answers)["412"] == "PreconditionFailed"
    assert header_names(answers["200"]) == {"X-Request-ID", "ETag"}
    assert "304" not in answers


# The Conduit blueprint answers errors in its own shape, and the spec says so.


def conduit_operations(spec):
    return [(name, op) for name, op in operations(spec) if "conduit" in op.get("tags", [])]


def test_conduit_routes_under_api_are_documented(make_app):
    app = make_app()
    spec = spec_of(app)
    assert "/api/articles/{slug}/comments/{comment_id}" in spec["paths"]
    assert len(conduit_operations(spec)) == 19
    assert undocumented_routes(app, spec) == []


def test_conduit_errors_are_documented_with_the_conduit_schema_not_problems(spec):
    problem_refs = {
        f"#/components/responses/{name}"
        for status, (name, *_) in PROBLEMS.items()
        if status not in SERVER_PROBLEMS  # the server in front of the app answers those
    }
    for name, operation in conduit_operations(spec):
        for status, response in operation["responses"].items():
            assert response.get("$ref") not in problem_refs, f"{name} {status}"
            if status.startswith(("4", "5")) and int(status) not in SERVER_PROBLEMS:
                content = resolve(spec, response)["content"]
                assert content == {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ConduitErrors"}}
                }, f"{name} {status}"


def test_api_v1_errors_stay_problem_details(spec):
    answers = refs(responses(spec, "patch", "/api/v1/posts/{reference}"))
    assert answers["422"] == "UnprocessableContent"
    assert answers["404"] == "NotFound"


# Statuses the server sends on every operation of a kind, whatever the view declares.


def test_every_operation_documents_the_servers_own_size_limits(spec):
    """gunicorn (or nginx) answers an over-long request line 414 and over-large
    headers 431 before the app sees the request, on any path."""
    missing = [
        f"{name} {status}"
        for name, operation in operations(spec)
        for status in ("414", "431")
        if status not in operation["responses"]
    ]
    assert missing == []


def test_size_limit_answers_are_problem_details_even_under_conduit(spec):
    """They come from the server in front of the app, which knows no dialect."""
    answers = refs(responses(spec, "get", "/api/articles"))
    assert answers["414"] == "URITooLong"
    assert answers["431"] == "RequestHeaderFieldsTooLarge"


def test_every_write_documents_409_for_a_concurrent_write(spec):
    """An integrity error or a stale version met while writing is 409 (app/core/errors.py)."""
    missing = [
        name
        for name, operation in operations(spec)
        if name.split()[0] in ("POST", "PUT", "PATCH", "DELETE")
        and "409" not in operation["responses"]
    ]
    assert missing == []


def test_every_request_that_may_carry_a_body_documents_413_and_415(spec):
    """A POST without a declared body (logout, favourite) still refuses a body that is not JSON."""
    answers = responses(spec, "post", "/auth/logout")
    assert {"413", "415"} <= set(answers)


def test_every_operation_on_the_database_documents_503_with_retry_after(spec):
    missing = [
        name
        for name, operation in operations(spec)
        if not name.split()[1].startswith(("/health", "/metrics"))
        and "503" not in operation["responses"]
    ]
    assert missing == []
    assert "Retry-After" in spec["components"]["responses"]["ServiceUnavailable"]["headers"]
    assert "503" not in responses(spec, "get", "/health")


def query_parameter(spec, method, path, name):
    operation = spec["paths"][path][method]
    return next(p for p in operation["parameters"] if p.get("name") == name)


def test_a_cursor_is_documented_as_the_server_writes_it(spec):
    """URL-safe base64 and dots (itsdangerous), at most 1000: what the server accepts."""
    schema = query_parameter(spec, "get", "/api/v1/posts", "cursor")["schema"]
    assert schema["pattern"] == "^[A-Za-z0-9_.-]*$"
    assert schema["maxLength"] == 1000


def test_idempotency_key_is_documented_with_its_bounds(spec):
    schema = spec["components"]["parameters"]["Idempotency-Key"]["schema"]
    assert schema == {"type": "string", "pattern": "^[!-~]{1,255}$"}


def test_input_strings_document_that_nul_is_refused(spec):
    """InputSchema refuses NUL anywhere (422); the spec says so on every free string."""
    no_nul = {"not": {"type": "string", "pattern": "\\u0000"}}
    schemas = spec["components"]["schemas"]
    assert schemas["PostCreate"]["properties"]["body"]["not"] == no_nul["not"]
    assert query_parameter(spec, "get", "/api/v1/posts", "q")["schema"]["not"] == no_nul["not"]
    # Output schemas describe what the server sends: no input rule there.
    assert "not" not in schemas["Post"]["properties"]["body"]


def test_a_nullable_input_string_still_allows_null(spec):
    summary = spec["components"]["schemas"]["PostCreate"]["properties"]["summary"]
    assert jsonschema_rs.validator_for(summary).is_valid(None)
    assert not jsonschema_rs.validator_for(summary).is_valid("a\u0000b")


EMAILS = ["0@0.com", "0@0.a", "a.b@x-y.example.org", "a..b@x.com", ".a@x.com", "a@-x.com"]
EMAILS += ["a@x.-1", "a@x..com", "!#$@x.io", "a b@x.com", "a@x.com\n", "a\u0000@x.com"]
EMAILS += ["c$lMCJAQrDwC07.A./n`j@hAb0.af0kFcx8.Q5LS-", "x" * 65 + "@example.com"]
TAGS = ["", " ", "a", " a ", "a,b", "x" * 32, "x" * 33, "\u00a0", "a\u0000", "caf\u00e9"]
TAGS += [" " * 5 + "x" * 30, "\u3000" + "y" * 32 + "\u3000", "a b", "\tx", "\u0085", "x\u0085"]
TAGS += ["\ufeff" + "z" * 32, "\u000b\r\f\u00fe  \f", "\u2028a\u2029"]


def matches(schema, value):
    """Whether `value` is valid by `schema`, read as JSON Schema reads it (ECMA-262 regexes)."""
    return jsonschema_rs.validator_for(schema, validate_formats=True).is_valid(value)


def accepts(validator, value):
    try:
        validator(value)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("email", EMAILS)
def test_an_email_the_spec_allows_is_one_the_server_accepts(spec, email):
    """JSON Schema's `format: email` allows `0@0.a`, which the server refuses (422)."""
    schema = spec["components"]["schemas"]["Register"]["properties"]["email"]
    if matches(schema, email):
        assert accepts(Email(), email)


def test_an_email_is_described_by_the_servers_rule_alone(spec):
    """`format: email` refuses a local part of 65 characters, which the server accepts."""
    schema = spec["components"]["schemas"]["Register"]["properties"]["email"]
    assert "format" not in schema
    assert matches(schema, "x" * 65 + "@example.com")


@pytest.mark.parametrize("email", ["0@0.a", "a..b@x.com", "a b@x.com"])
def test_the_spec_refuses_emails_the_server_refuses(spec, email):
    schema = spec["components"]["schemas"]["Register"]["properties"]["email"]
    assert not matches(schema, email)


@pytest.mark.parametrize("tag", TAGS)
def test_a_tag_the_spec_allows_is_one_the_server_accepts_and_the_reverse(spec, tag):
    schema = spec["components"]["schemas"]["PostCreate"]["properties"]["tags"]["items"]
    assert matches(schema, tag) == accepts(tag_name, tag.strip())


URLS = ["http://a.co", "https://example.com/x?y=1", "http://x.y", "http://localhost"]
URLS += [
    "ftp://a.b.cd/",
    "https://ex-ample.museum#f",
    "http://a.co/\u00fc",
    "a.co",
    "http://a.co x",
]


@pytest.mark.parametrize("url", URLS)
def test_an_image_url_the_spec_allows_is_one_the_server_accepts(spec, url):
    """`format: url` is no JSON Schema format: generators drew anything for it."""
    schema = spec["components"]["schemas"]["OwnProfileUpdate"]["properties"]["image"]
    assert "format" not in schema
    if matches(schema, url):
        assert accepts(URL(), url)


def test_tags_are_at_most_ten_as_sent(spec, client, alice):
    """The spec's maxItems counts the names sent, duplicates too; so does the server."""
    assert spec["components"]["schemas"]["PostCreate"]["properties"]["tags"]["maxItems"] == 10
    post = {"title": "Tagged", "body": "Text.", "tags": ["same"] * 11}
    response = client.post("/api/v1/posts", json=post, headers=alice)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"tags": ["At most 10 tags."]}


TITLES = ["a", " a ", " ", "\u001e", "\u0085x", "\u3000", "\ufeff", "a\u0000", "\u0085"]


@pytest.mark.parametrize("title", TITLES)
def test_a_title_the_spec_allows_is_one_the_server_accepts_and_the_reverse(spec, title):
    """The server trims a title and refuses it blank, as Python's strip() sees white space."""
    schema = spec["components"]["schemas"]["PostCreate"]["properties"]["title"]
    load = PostCreateSchema().load  # with its post_load, which trims
    assert matches(schema, title) == accepts(load, {"title": title, "body": "Text."})


# The server enforces what the spec says.


def required_body_operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if operation.get("requestBody", {}).get("required"):
                yield method, path


def test_every_documented_request_body_is_required(spec):
    """Folio has no optional bodies: each one the spec lists it marks required."""
    bodies = [
        f"{method} {path}"
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation and not operation["requestBody"].get("required")
    ]
    assert bodies == []


@pytest.mark.parametrize("content_type", [None, "application/json"])
def test_a_partial_update_without_a_body_is_422_not_an_empty_update(client, admin, content_type):
    headers = {**admin, **({"Content-Type": content_type} if content_type else {})}
    for path in ("/auth/me", "/api/v1/users/root"):
        response = client.patch(path, headers=headers)
        assert response.status_code == 422, path
        assert response.mimetype == PROBLEM_MIMETYPE
        assert response.get_json()["errors"] == {"_schema": ["A JSON body is required."]}
