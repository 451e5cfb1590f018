"""The bases of Folio's schemas: one for what clients send, one for what goes out."""

from collections.abc import Mapping

from marshmallow import Schema, ValidationError, pre_load

NUL = "\x00"


def nul_errors(value):
    """Field errors for every string holding a NUL, nested like the input."""
    if isinstance(value, str):
        return ["NUL characters are not allowed."] if NUL in value else None
    if isinstance(value, Mapping):  # JSON objects, and webargs' query-string proxy
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    errors = {key: error for key, item in items if (error := nul_errors(item))}
    return errors or None


class InputSchema(Schema):
    """Refuses NUL characters anywhere in the input.

    PostgreSQL text cannot hold them (the driver raises, which would be a 500)
    and no field of this API has a use for them, so they are a 422 here,
    before any field sees them, on both databases alike.
    """

    @pre_load
    def refuse_nul(self, data, **kwargs):
        if errors := nul_errors(data):
            raise ValidationError(errors)
        return data


class RowSchema(Schema):
    """An output schema that dumps query rows as well as model objects.

    It reads fields with plain `getattr`: marshmallow's default accessor tries
    `obj[name]` first and falls back to `getattr` on the error; a SQLAlchemy row
    refuses string keys, so every field of every row paid for a raised
    exception. Rows and models both have attributes.
    """

    def get_attribute(self, obj, attr, default):
        return getattr(obj, attr, default)
