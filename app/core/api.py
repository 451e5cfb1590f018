"""flask-smorest's Api, told to answer errors as problem details, and its Blueprint.

flask-smorest registers its own HTTPException handler and documents its own
error schema; both are replaced so the spec describes what clients receive.
The shared parts of the spec (problem responses, X-Request-ID, the bearer
scheme) come from `app.core.openapi`.
"""

from flask_smorest import Api
from flask_smorest import Blueprint as SmorestBlueprint

from app.core.errors import http_exception_to_problem
from app.core.openapi import FolioSpecPlugin, ProblemSchema


class Blueprint(SmorestBlueprint):
    """flask-smorest's Blueprint, with each arguments schema made once.

    Given a schema class, webargs instantiates it on every request (deep-copying
    its declared fields: about 70 us for a list's query arguments); an instance
    is made once here and reused, which marshmallow schemas allow.
    """

    def arguments(self, schema, *args, **kwargs):
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)


class FolioApi(Api):
    ERROR_SCHEMA = ProblemSchema
    # No catch-all "default" response: each operation lists the statuses it
    # can answer, so a client (and Schemathesis) can trust the list.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def __init__(self, app=None, *, spec_kwargs=None, **kwargs):
        spec_kwargs = {"extra_plugins": [FolioSpecPlugin()], **(spec_kwargs or {})}
        super().__init__(app, spec_kwargs=spec_kwargs, **kwargs)

    def handle_http_exception(self, error):
        return http_exception_to_problem(error)

    def _register_pagination_header(self):
        """Folio's pagination metadata is in the body, not in flask-smorest's
        X-Pagination header: leave that header and its schema out of the spec."""
