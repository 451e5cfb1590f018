"""Conduit's error body on this blueprint: `{"errors": {"body": [...]}}` or keyed by field.

Every failure still goes through Folio's one error pipeline (app.core.errors,
the JWT loaders, the database handlers), which decides the status and headers:
401 for any token problem, 422 for invalid input, 503 when the database is
away, a bare 500 for a bug. This blueprint's `after_request` then re-renders
the problem-details body it produced in Conduit's shape. Re-rendering one
answer, rather than a second set of handlers, keeps a single classification
of failures for both blueprints; the spec plugin does the same for the
documented responses (`ERROR_DIALECT`).

Requests that match no route (`/api/articles/x/comments/abc`, a wrong method)
belong to no blueprint, so the app runs `unmatched_errors` for them: those
under Conduit's paths (`/api/articles/...`, not `/api/v1/...`) get Conduit's
shape too.
"""

from functools import partial

from flask import current_app, json, request

from app.conduit.schemas import ConduitErrorsSchema
from app.core.openapi import PROBLEM_MIMETYPE, ErrorDialect

ERROR_DIALECT = ErrorDialect(prefix="Conduit", schema=ConduitErrorsSchema)
WHOLE_REQUEST = "body"


def conduit_errors(response):
    if response.mimetype != PROBLEM_MIMETYPE:
        return response
    problem = response.get_json()
    if problem.get("errors"):
        messages = field_messages(problem["errors"])
    else:
        messages = {WHOLE_REQUEST: [problem.get("detail") or problem.get("title")]}
    response.set_data(json.dumps({"errors": messages}))
    response.mimetype = "application/json"
    return response


def register_unmatched_errors(state):
    """Runs once, when the blueprint is registered: hooks the app for unmatched requests."""
    state.app.after_request(partial(unmatched_errors, state.name))


def unmatched_errors(blueprint, response):
    if request.url_rule is None and in_space_of(blueprint, request.path):
        return conduit_errors(response)
    return response


def in_space_of(blueprint, path):
    """Whether `path` starts like one of the blueprint's routes (`/api/articles`)."""
    heads = {
        tuple(rule.rule.split("/")[1:3])
        for rule in current_app.url_map.iter_rules()
        if rule.endpoint.startswith(f"{blueprint}.")
    }
    return tuple(path.split("/")[1:3]) in heads


def field_messages(errors):
    """Messages keyed by field as Conduit clients print them: `email`, not `user.email`.

    A request body's envelope (`user`, `article`, `comment`) is dropped;
    deeper fields are joined with dots (`tagList.0`); marshmallow's
    `_schema` (the input as a whole) becomes `body`.
    """
    flat = {}
    for key, value in errors.items():
        if isinstance(value, dict):
            flat.update(dotted(value))
        else:
            flat[name_of(key)] = value
    return flat


def dotted(errors, prefix=""):
    flat = {}
    for key, value in errors.items():
        name = f"{prefix}{name_of(key)}"
        if isinstance(value, dict):
            flat.update(dotted(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def name_of(key):
    return WHOLE_REQUEST if key == "_schema" else str(key)
