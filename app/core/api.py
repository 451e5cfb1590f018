"""flask-smorest's Api, told to answer errors as problem details.

flask-smorest registers its own HTTPException handler and documents its own
error schema; both are replaced so the spec describes what clients receive.
"""

from flask_smorest import Api
from marshmallow import Schema, fields

from app.core.errors import http_exception_to_problem


class ProblemSchema(Schema):
    """RFC 9457 problem details, the body of every error response."""

    type = fields.String(metadata={"example": "about:blank"})
    title = fields.String(metadata={"example": "Not Found"})
    status = fields.Integer(metadata={"example": 404})
    detail = fields.String()
    request_id = fields.String(allow_none=True)
    errors = fields.Dict(
        metadata={"description": "Field errors (422 only), nested like the request"}
    )


class FolioApi(Api):
    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = "Problem"

    def handle_http_exception(self, error):
        return http_exception_to_problem(error)
