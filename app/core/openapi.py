"""The parts of the OpenAPI document that every operation shares, written once.

flask-smorest documents what a view declares (its arguments, its responses,
its docstring). What the contract promises for every endpoint is added here,
by an apispec plugin, from facts the operation already states, so a new
endpoint declares only the responses that are its own:

- every response carries `X-Request-ID`;
- a path parameter can name nothing: 404;
- a request body can be malformed, too large, not JSON or invalid: 400, 413,
  415, 422;
- a bearer-protected operation (see `bearer_auth`) can refuse the token: 401
  with `WWW-Authenticate`;
- a list (it takes `per_page`) answers with a `Link` header, and a bad
  `cursor` with 400;
- an `If-None-Match` header parameter means 304 and an ETag on 200; an
  `If-Match` one means 412 and an ETag on 200; a conditional read's 200 also
  says who may cache it (`Cache-Control`, `Vary`: app/core/caching.py);
- a conditional list (`CONDITIONAL_LIST` in its doc, set by
  app/core/conditional.py) takes `If-None-Match` beside its query arguments
  (a doc's `parameters` would replace those);
- every operation but the operational ones can be rate limited (429) and
  meets the database, which may be away (503 with `Retry-After`);
- every write can meet a concurrent one: 409 (app/core/errors.py);
- a POST, PUT or PATCH may carry a body even when it takes none: 413, 415;
- every operation can be refused by the HTTP server in front of the app
  before the app sees it: an over-long request line (414) or over-large
  headers (431). Those answers are problem details in every blueprint (the
  server knows no dialect).
- an input string may not hold NUL (`InputSchema` refuses it, and says so
  with `REFUSES_NUL`): every free string of an input schema says so (`nul_free`).

Errors are RFC 9457 problem details (`application/problem+json`), so the
response components here replace flask-smorest's own (which say
`application/json`) wherever it refers to them, e.g. the 422 that
`@blp.arguments` documents. Anything else (403, 409, 429, ...) an endpoint
states with `@problems(...)`. A blueprint that answers errors in another
shape (Conduit's) registers an `ErrorDialect` for its tag, and its operations
get that dialect's responses in place of the problem ones. A plugin, rather
than a pass over the finished document, keeps `/openapi.json`, `flask openapi
write` and the tests reading one and the same spec.
"""

from http import HTTPStatus

from apispec import BasePlugin
from flask_smorest import Blueprint
from marshmallow import fields

from app.core.rate_limits import UNLIMITED_PREFIXES

BEARER = "bearerAuth"
# What app/api/idempotency.py accepts, and the spec says.
IDEMPOTENCY_KEY_PATTERN = "^[!-~]{1,255}$"
# No NUL anywhere in the string. Said as "does not match NUL" rather than as the
# equivalent `^[^\u0000]*$`: generators draw a long string for that pattern
# character by character through a regex (Schemathesis took five times as long
# on the posts' 100,000-character body), while `not` is a cheap filter.
NUL = r"\u0000"
# marshmallow's Email rule in ASCII (dot-atom @ labels, the last of two characters
# or more), in place of JSON Schema's `format: email`, which allows `0@0.a` (the
# server refuses it) and refuses a long local part (the server accepts it).
EMAIL_PATTERN = (
    r"^[-!#$%&'*+/=?^`{}|~A-Za-z0-9_]+(\.[-!#$%&'*+/=?^`{}|~A-Za-z0-9_]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,}$"
)
# marshmallow's URL rule (absolute, http(s) or ftp(s), a host with a top-level
# label), in ASCII and without its rarer forms (ports, IP hosts, user info): what
# the server takes, in place of `format: url`, which is no JSON Schema format.
URL_PATTERN = (
    r"^(https?|ftps?)://([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,6}"
    r"(/|[/?#][!-~]+)?$"
)
PROBLEM_MIMETYPE = "application/problem+json"


# The problem-details schemas, by their names in marshmallow's class registry
# (app/schemas/problems.py): core imports no schemas, and apispec resolves a name.
PROBLEM_SCHEMA = "ProblemSchema"
SERVER_PROBLEM_SCHEMA = "ServerProblemSchema"


def string_header(description, **schema):
    return {"description": description, "schema": {"type": "string", **schema}}


HEADERS = {
    "X-Request-ID": {
        **string_header(
            "The request's id: the client's own when it is 1 to 128 of letters, digits, "
            "`.`, `_`, `-`, otherwise a new one. Also in the access log and in error bodies.",
            pattern="^[A-Za-z0-9._-]{1,128}$",
        ),
        "required": True,
    },
    "Link": string_header("RFC 8288 links to the `next` (and `prev`, `first`, `last`) pages."),
    "ETag": string_header(
        "Tag of this answer: strong for a single resource (ending in `-gzip` when "
        "compressed), weak (`W/`) for a list page. Send it back in If-None-Match."
    ),
    "Location": string_header("URL of the created resource."),
    "Retry-After": string_header("Seconds to wait before trying again."),
    "WWW-Authenticate": string_header("`Bearer`, with the reason when a token was given."),
    "Cache-Control": string_header(
        "Who may keep the answer: `no-store` (it carries tokens or the own account); "
        "`private, max-age=0, must-revalidate` (it is the token's caller's); "
        "`public, max-age=0, must-revalidate` (the same for every caller). "
        "Revalidate with If-None-Match before reuse."
    ),
    "Vary": string_header(
        "Request headers the answer depends on: `Authorization` when the token shapes it, "
        "`Accept-Encoding` when it may be compressed."
    ),
}

# A doc key (see the module's docstring) the plugin reads and removes.
CONDITIONAL_LIST = "x-folio-conditional-list"

PARAMETERS = {
    "If-None-Match": string_header("An ETag the client holds: 304 when it is still current."),
    "If-Match": string_header("The ETag the change is based on: 412 when it is stale."),
    "Idempotency-Key": string_header(
        "Makes a create safe to retry: the same key and body give the original answer. "
        "1 to 255 visible ASCII characters (a UUID fits).",
        pattern=IDEMPOTENCY_KEY_PATTERN,
    ),
}

# status: (component name, description, headers besides X-Request-ID)
PROBLEMS = {
    400: ("BadRequest", "The body is not valid JSON, or a cursor was tampered with.", ()),
    401: (
        "Unauthorized",
        "Missing, malformed, expired, revoked or wrong-type token.",
        ("WWW-Authenticate",),
    ),
    403: ("Forbidden", "Authenticated, but not allowed to do this.", ()),
    404: ("NotFound", "No such resource, or one the caller may not see.", ()),
    409: ("Conflict", "Conflicts with an existing resource.", ()),
    412: ("PreconditionFailed", "`If-Match` is stale: nothing was changed.", ()),
    413: ("ContentTooLarge", "The body is larger than the server accepts.", ()),
    414: ("URITooLong", "The request line is longer than the server accepts.", ()),
    415: ("UnsupportedMediaType", "The body is not `application/json`.", ()),
    422: ("UnprocessableContent", "The request is not valid: `errors` names each field.", ()),
    429: ("TooManyRequests", "Rate limited: retry after `Retry-After` seconds.", ("Retry-After",)),
    431: (
        "RequestHeaderFieldsTooLarge",
        "A header, or the headers together, are larger than the server accepts.",
        (),
    ),
    503: (
        "ServiceUnavailable",
        "A dependency (the database) is down: retry after `Retry-After` seconds.",
        ("Retry-After",),
    ),
}
NOT_MODIFIED = "NotModified"
BODY_PROBLEMS = (400, 413, 415, 422)
# Answered by the HTTP server in front of the app (gunicorn, nginx), on any path.
SERVER_PROBLEMS = (414, 431)
WRITE_METHODS = ("post", "put", "patch", "delete")
BODY_METHODS = ("post", "put", "patch")


def problem_component(description, headers, *, schema=PROBLEM_SCHEMA, media_type=PROBLEM_MIMETYPE):
    return {
        "description": description,
        "content": {media_type: {"schema": schema}},
        "headers": {name: name for name in ("X-Request-ID", *headers)},
    }


def server_problem_component(description):
    """A problem the HTTP server answers itself: no X-Request-ID promised."""
    return {
        "description": f"{description} Answered by the HTTP server in front of the app.",
        "content": {PROBLEM_MIMETYPE: {"schema": SERVER_PROBLEM_SCHEMA}},
    }


class ErrorDialect:
    """The error responses of a blueprint that does not answer problem details.

    Its views are documented with the shared vocabulary like any other
    (`problems`, `bearer_auth`, the implied statuses); for its operations the
    plugin swaps each problem response for the dialect's response of the same
    status: `<prefix><problem component name>`, the same description and
    headers, the dialect's schema and media type.
    """

    def __init__(self, *, prefix, schema, media_type="application/json"):
        self.prefix, self.schema, self.media_type = prefix, schema, media_type

    def response(self, status):
        """(component name, component) in place of the problem response for `status`."""
        name, description, headers = PROBLEMS[status]
        component = problem_component(
            description, headers, schema=self.schema, media_type=self.media_type
        )
        return f"{self.prefix}{name}", component


# Error dialects by the OpenAPI tag of the blueprint that speaks them.
ERROR_DIALECTS = {}


def register_error_dialect(tag, dialect):
    ERROR_DIALECTS[tag] = dialect


def problems(*statuses):
    """Document problem responses an endpoint adds itself, e.g. `@problems(403, 409)`."""
    return Blueprint.doc(responses={status: PROBLEMS[status][0] for status in statuses})


def bearer_auth(func):
    """Document that the endpoint needs `Authorization: Bearer <access token>` (and so 401)."""
    return Blueprint.doc(security=[{BEARER: []}])(func)


def nul_free(converter, field, ret):
    """apispec attribute function: a free string of an input schema says it holds no
    NUL, since `InputSchema` refuses NUL in any string it is given (422).

    A string's own pattern stays (one that only asks for some character would not
    exclude NUL); an enum excludes it already. An email or a URL gets the server's
    rule as a pattern in place of its format. Output schemas describe what is
    sent: no rule there.
    """
    if not isinstance(field, fields.String) or field.dump_only:
        return {}
    if "enum" in ret or not getattr(field.root, "REFUSES_NUL", False):
        return {}
    # `type` inside `not`: a pattern alone holds for any non-string (null), which
    # `not` would then refuse.
    rules = {"not": {"type": "string", "pattern": NUL}}
    own_patterns = {fields.Email: EMAIL_PATTERN, fields.URL: URL_PATTERN}
    if type(field) in own_patterns:
        ret.pop("format", None)  # the pattern is the server's rule; the format is not
        rules["pattern"] = own_patterns[type(field)]
    return rules


def status_key(code):
    """Response keys as apispec writes them: "404", not 404 or HTTPStatus.NOT_FOUND."""
    return code if code == "default" else str(int(code))


def parameter_names(operation, location):
    """Names of the operation's parameters in `location`; a reference counts by its id."""
    return {
        parameter if isinstance(parameter, str) else parameter["name"]
        for parameter in operation.get("parameters", [])
        if isinstance(parameter, str) or parameter.get("in") == location
    }


def implied_statuses(path, method, operation):
    """Problem statuses the contract attaches to what the operation declares."""
    statuses = [*SERVER_PROBLEMS]
    if "{" in path:
        statuses.append(404)
    if "requestBody" in operation:
        statuses.extend(BODY_PROBLEMS)
    if method in BODY_METHODS:
        statuses.extend((413, 415))  # app/core/content_type.py: any body must be JSON
    if any(BEARER in requirement for requirement in operation.get("security", [])):
        statuses.append(401)
    if "If-Match" in parameter_names(operation, "header"):
        statuses.append(412)
    if "cursor" in parameter_names(operation, "query"):
        statuses.append(400)  # a tampered cursor, or one made for another list
    if not path.startswith(UNLIMITED_PREFIXES):
        statuses.append(429)  # the API-wide rate limit (app/core/rate_limits.py)
        statuses.append(503)  # the database is away (app/core/errors.py)
        if method in WRITE_METHODS:
            statuses.append(409)  # a concurrent write won (app/core/errors.py)
    return statuses


def success_headers(operation):
    """Headers the contract attaches to a 200 answer of this operation."""
    headers = []
    if "per_page" in parameter_names(operation, "query"):
        headers.append("Link")
    if parameter_names(operation, "header") & {"If-None-Match", "If-Match"}:
        headers.append("ETag")
    if "If-None-Match" in parameter_names(operation, "header"):
        headers.extend(("Cache-Control", "Vary"))
    return headers


def own_component(response):
    """Folio's component in place of flask-smorest's for the same status.

    flask-smorest refers to its components by status name ("UNPROCESSABLE_ENTITY"
    for `@blp.arguments`); those describe `application/json` errors.
    """
    if not (isinstance(response, str) and response in HTTPStatus.__members__):
        return response
    status = HTTPStatus[response]
    if status == HTTPStatus.NOT_MODIFIED:
        return NOT_MODIFIED
    return PROBLEMS[status][0] if status in PROBLEMS else response


class FolioSpecPlugin(BasePlugin):
    """Adds the contract's shared responses, headers and security scheme to the spec."""

    def init_spec(self, spec):
        super().init_spec(spec)
        self.spec = spec
        spec.components.security_scheme(
            BEARER,
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "An access token from `POST /auth/login`.",
            },
        )
        # All registered up front, used or not yet: the components section is
        # the contract's vocabulary, and a later endpoint only refers to it.
        for name, header in HEADERS.items():
            spec.components.header(name, header)
        for name, parameter in PARAMETERS.items():
            spec.components.parameter(name, "header", {"name": name, **parameter})
        for status, (name, description, headers) in PROBLEMS.items():
            if status in SERVER_PROBLEMS:
                spec.components.response(name, server_problem_component(description))
            else:
                spec.components.response(name, problem_component(description, headers))
        spec.components.response(
            NOT_MODIFIED,
            {
                "description": "The client's copy is current (no body).",
                "headers": {"X-Request-ID": "X-Request-ID", "ETag": "ETag"},
            },
        )

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            if operation.pop(CONDITIONAL_LIST, False):
                operation.setdefault("parameters", []).append("If-None-Match")
            operation["responses"] = self.complete_responses(path, method, operation)
            for tag in operation.get("tags", []):
                if tag in ERROR_DIALECTS:
                    operation["responses"] = self.in_dialect(operation["responses"], tag)

    def in_dialect(self, responses, tag):
        """The responses with each problem component swapped for the dialect's own."""
        statuses = {
            name: status for status, (name, *_) in PROBLEMS.items() if status not in SERVER_PROBLEMS
        }
        translated = {}
        for code, response in responses.items():
            if isinstance(response, str) and response in statuses:
                response, component = ERROR_DIALECTS[tag].response(statuses[response])
                if response not in self.spec.components.responses:  # registered on first use
                    self.spec.components.response(response, component)
            translated[code] = response
        return translated

    def complete_responses(self, path, method, operation):
        responses = {
            status_key(code): own_component(response)
            for code, response in operation.get("responses", {}).items()
        }
        for status in implied_statuses(path, method, operation):
            responses.setdefault(str(status), PROBLEMS[status][0])
        if "If-None-Match" in parameter_names(operation, "header"):
            responses.setdefault("304", NOT_MODIFIED)
        for code, response in responses.items():
            if isinstance(response, dict):  # a component (a str) has its headers already
                headers = response.setdefault("headers", {})
                headers.setdefault("X-Request-ID", "X-Request-ID")
                if code == "200":
                    for name in success_headers(operation):
                        headers.setdefault(name, name)
        return dict(sorted(responses.items()))
