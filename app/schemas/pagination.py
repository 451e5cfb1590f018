"""What every list takes (page, per_page, cursor, sort) and the envelope it answers.

The policy behind these arguments is app/core/paging.py; the SQL,
app/services/listing.py.
"""

from marshmallow import fields, validate

from app.schemas.base import InputSchema, OutputSchema

MAX_PER_PAGE = 100
MAX_PAGE = 1_000_000
# The longest cursor the server writes is under 1000 characters: a title sort over
# 200 characters outside the BMP, escaped in JSON and compressed, came to 983.
MAX_CURSOR_LENGTH = 1000


class PaginationArgs(InputSchema):
    """Query arguments every list takes; subclasses add filters and set `sort`."""

    page = fields.Integer(
        validate=validate.Range(1, MAX_PAGE), metadata={"description": "Page mode"}
    )
    per_page = fields.Integer(load_default=20, validate=validate.Range(1, MAX_PER_PAGE))
    cursor = fields.String(
        # What app/core/paging.py's `encode_cursor` writes (itsdangerous: URL-safe
        # base64 and dots). Checked here, not left to the signature, so that it
        # holds in page mode too.
        validate=[
            validate.Length(max=MAX_CURSOR_LENGTH),
            validate.Regexp(r"^[A-Za-z0-9_.-]*$", error="Not a cursor this server wrote."),
        ],
        metadata={"description": "Cursor mode: empty for the first page, then meta.next_cursor"},
    )


def sort_field(names, default):
    """A `sort` argument limited to `names`, each ascending or with `-` descending."""
    choices = [name for base in names for name in (base, f"-{base}")]
    return fields.String(load_default=default, validate=validate.OneOf(choices))


class PageMetaSchema(OutputSchema):
    per_page = fields.Integer(required=True)
    page = fields.Integer(metadata={"description": "Page mode only"})
    total = fields.Integer(metadata={"description": "Page mode only"})
    pages = fields.Integer(metadata={"description": "Page mode only"})
    next_cursor = fields.String(
        allow_none=True, metadata={"description": "Cursor mode only; null on the last page"}
    )


_envelopes = {}


def page_of(item_schema):
    """The `{"items": [...], "meta": {...}}` envelope schema for `item_schema`."""
    name = f"{item_schema.__name__.removesuffix('Schema')}PageSchema"
    if name not in _envelopes:
        _envelopes[name] = type(
            name,
            (OutputSchema,),
            {
                "items": fields.List(fields.Nested(item_schema), required=True),
                "meta": fields.Nested(PageMetaSchema, required=True),
            },
        )
    return _envelopes[name]
