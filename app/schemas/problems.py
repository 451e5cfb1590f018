"""RFC 9457 problem details: the body of every error response, for the OpenAPI spec.

app/core/openapi.py refers to these by name (marshmallow's class registry), so
core imports no schemas; the factory imports this module.
"""

from marshmallow import INCLUDE, fields

from app.schemas.base import OutputSchema


class ProblemSchema(OutputSchema):
    """RFC 9457 problem details, the body of every error response.

    Problem types may add members (readiness adds `checks`), so unknown
    members are allowed.
    """

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True, metadata={"example": "about:blank"})
    title = fields.String(required=True, metadata={"description": "The status's phrase"})
    status = fields.Integer(required=True, metadata={"description": "The HTTP status"})
    detail = fields.String(required=True)
    request_id = fields.String(required=True, allow_none=True)
    errors = fields.Dict(
        metadata={"description": "Field errors (422 only), nested like the request"}
    )


class ServerProblemSchema(ProblemSchema):
    """Problem details from the HTTP server in front of the app (414, 431): it answers
    before the app sees the request, so there may be no request id."""

    request_id = fields.String(allow_none=True)
