"""The base of every output schema that dumps query rows as well as model objects."""

from marshmallow import Schema


class RowSchema(Schema):
    """Reads fields with plain `getattr`.

    marshmallow's default accessor tries `obj[name]` first and falls back to
    `getattr` on the error; a SQLAlchemy row refuses string keys, so every field of
    every row paid for a raised exception. Rows and models both have attributes.
    """

    def get_attribute(self, obj, attr, default):
        return getattr(obj, attr, default)
