"""flask-smorest's Api, told to answer errors as problem details, and its Blueprint.

flask-smorest registers its own HTTPException handler and documents its own
error schema; both are replaced so the spec describes what clients receive.
The shared parts of the spec (problem responses, X-Request-ID, the bearer
scheme) come from `app.core.openapi`.
"""

import marshmallow as ma
from flask import current_app
from flask_smorest import Api
from flask_smorest import Blueprint as SmorestBlueprint
from webargs.flaskparser import FlaskParser, is_json_request
from webargs.multidictproxy import MultiDictProxy

from app.core.errors import http_exception_to_problem
from app.core.openapi import PROBLEM_SCHEMA, FolioSpecPlugin, nul_free


class QueryArgs(MultiDictProxy):
    """webargs' view of `request.args`, reading absent arguments without an exception.

    webargs looks up every declared argument with `MultiDict.get`, which raises
    and catches a BadRequestKeyError for each one absent: nine on a plain posts
    list. `getlist` answers an empty list instead, and gives the same values.
    """

    def __getitem__(self, key):
        values = self.data.getlist(key)
        if not values:
            return ma.missing
        return values if key in self.multiple_keys else values[0]


class ArgumentsParser(FlaskParser):
    def _raw_load_json(self, req):
        """The body through the app's JSON provider (app/core/json.py), which refuses
        what parses but no endpoint can use; webargs' own reading would not."""
        if not is_json_request(req):
            return ma.missing
        return current_app.json.loads(req.get_data(cache=True))

    def load_querystring(self, req, schema):
        return self._makeproxy(req.args, schema, cls=QueryArgs)

    def load_json(self, req, schema):
        """The JSON body; its absence is a 422, since every body Folio takes is
        required (and documented so). webargs would load `{}` in its place, which a
        partial update (every field optional) accepts as a change of nothing."""
        data = super().load_json(req, schema)
        if data is ma.missing:
            raise ma.ValidationError("A JSON body is required.")
        return data


class Blueprint(SmorestBlueprint):
    """flask-smorest's Blueprint, with each arguments schema made once and query
    arguments read through `QueryArgs`.

    Given a schema class, webargs instantiates it on every request (deep-copying
    its declared fields: about 70 us for a list's query arguments); an instance
    is made once here and reused, which marshmallow schemas allow.
    """

    ARGUMENTS_PARSER = ArgumentsParser()

    def arguments(self, schema, *args, **kwargs):
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)


class FolioApi(Api):
    ERROR_SCHEMA = PROBLEM_SCHEMA
    # No catch-all "default" response: each operation lists the statuses it
    # can answer, so a client (and Schemathesis) can trust the list.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def __init__(self, app=None, *, spec_kwargs=None, **kwargs):
        spec_kwargs = {"extra_plugins": [FolioSpecPlugin()], **(spec_kwargs or {})}
        super().__init__(app, spec_kwargs=spec_kwargs, **kwargs)

    def _init_spec(self, *args, **kwargs):
        super()._init_spec(*args, **kwargs)
        self.ma_plugin.converter.add_attribute_function(nul_free)

    def handle_http_exception(self, error):
        return http_exception_to_problem(error)

    def _register_pagination_header(self):
        """Folio's pagination metadata is in the body, not in flask-smorest's
        X-Pagination header: leave that header and its schema out of the spec."""
