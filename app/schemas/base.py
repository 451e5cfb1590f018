"""The bases of Folio's schemas: one for what clients send, one for what goes out."""

import re
from collections.abc import Mapping

from marshmallow import Schema, ValidationError, pre_load

NUL = "\x00"
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def text_error(value):
    if NUL in value:
        return ["NUL characters are not allowed."]
    if LONE_SURROGATE.search(value):
        return ["Lone surrogates (such as \\ud800) are not Unicode text."]
    return None


def unusable_text_errors(value):
    """Field errors for every string holding a NUL or a lone surrogate, nested like the input."""
    if isinstance(value, str):
        return text_error(value)
    if isinstance(value, Mapping):  # JSON objects, and webargs' query-string proxy
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    errors = {key: error for key, item in items if (error := unusable_text_errors(item))}
    return errors or None


class InputSchema(Schema):
    """Refuses NUL characters and lone surrogates anywhere in the input.

    PostgreSQL text cannot hold NULs (the driver raises, which would be a 500)
    and no field of this API has a use for them, so they are a 422 here,
    before any field sees them, on both databases alike. A lone surrogate
    cannot be encoded as UTF-8 at all (the database, password hashing): JSON
    bodies never bring one this far (app/core/json.py answers 400), and any
    other source is refused here, on the field.
    """

    REFUSES_NUL = True  # app/core/openapi.py's `nul_free` says so in the spec

    @pre_load
    def refuse_nul(self, data, **kwargs):
        if errors := unusable_text_errors(data):
            raise ValidationError(errors)
        return data


class OutputSchema(Schema):
    """The base of output schemas.

    Values are read with `getattr` (rows, models) or `dict.get` (dicts):
    marshmallow's default accessor tries `obj[name]` first, and a SQLAlchemy row
    refuses string keys, so every field of every row paid for an exception.

    `fast_dump`, when a schema sets it, is its hand-written dump from
    app/schemas/fast_path.py (a staticmethod), which `dump` uses for a plain
    dump; tests/test_fast_path.py holds the two equal. Everything else
    (envelopes, `only`/`exclude`, schemas without one) is marshmallow's own dump.
    """

    fast_dump = None

    def get_attribute(self, obj, attr, default):
        if "." in attr:
            return super().get_attribute(obj, attr, default)
        if type(obj) is dict:
            return obj.get(attr, default)
        return getattr(obj, attr, default)

    def dump(self, obj, *, many=None):
        fast_dump = self.fast_dump
        if fast_dump is None or self.only is not None or self.exclude:
            return super().dump(obj, many=many)
        if self.many if many is None else many:
            return [fast_dump(item) for item in obj]
        return fast_dump(obj)
