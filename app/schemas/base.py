"""The bases of Folio's schemas: one for what clients send, one for what goes out."""

from collections.abc import Mapping
from functools import cached_property, partial

from marshmallow import Schema, ValidationError, fields, missing, pre_load
from marshmallow.decorators import POST_DUMP, PRE_DUMP

from app.schemas.fields import UTCDateTime

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
    """The base of output schemas: dumps query rows, model objects and dicts, fast.

    Marshmallow spends most of a dump in the machinery around each field
    (`serialize`, `get_value`, the accessor) rather than in the field's own
    formatting: a page of 20 posts took 650 us, more than its query. A
    RowSchema reads its fields once into a plan and, for the plain field types
    below, formats each value with the field's own `_serialize` only when it is
    not already what the field would return (a `str` for a String, an `int` for
    an Integer). Any other field, and any value that is missing, goes through
    marshmallow's own `Field.serialize`, so defaults, `data_key`, hooks and
    custom fields keep their meaning; tests/test_row_schema.py checks that the
    output equals marshmallow's for every output schema.

    Values are read with `getattr` (rows, models) or `dict.get` (dicts):
    marshmallow's default accessor tries `obj[name]` first, and a SQLAlchemy
    row refuses string keys, so every field of every row paid for an exception.
    """

    def get_attribute(self, obj, attr, default):
        if type(obj) is dict:
            return obj.get(attr, default)
        return getattr(obj, attr, default)

    def _serialize(self, obj, *, many=False):
        if many and obj is not None:
            dump_one = self.dump_one
            return [dump_one(item) for item in obj]
        return self.dump_one(obj)

    @cached_property
    def dump_one(self):
        plan = [self._plan_field(name, field) for name, field in self.dump_fields.items()]
        accessor = self.get_attribute

        def dump_one(obj):
            out = {}
            read = obj.get if type(obj) is dict else partial(getattr, obj)
            for key, source, name, field, fast in plan:
                value = read(source, missing) if fast else missing
                if value is missing:
                    value = field.serialize(name, obj, accessor=accessor)
                    if value is missing:
                        continue
                else:
                    value = fast(value, obj)
                out[key] = value
            return out

        return dump_one

    @staticmethod
    def _plan_field(name, field):
        key = field.data_key if field.data_key is not None else name
        source = field.attribute or name
        fast = None if "." in source else fast_formatter(name, field)
        return key, source, name, field, fast


NATIVE_TYPES = {fields.String: str, fields.Integer: int, fields.Boolean: bool}


def fast_formatter(name, field):
    """`format(value, obj)` for a field whose value is present, or None for marshmallow's way."""
    kind = type(field)
    if kind in NATIVE_TYPES and not getattr(field, "as_string", False):
        native, serialize = NATIVE_TYPES[kind], field._serialize
        return lambda v, obj: v if v is None or v.__class__ is native else serialize(v, name, obj)
    if isinstance(field, UTCDateTime):
        serialize = field._serialize
        return lambda v, obj: serialize(v, name, obj)
    if kind is fields.List and type(field.inner) is fields.String:
        inner = field.inner._serialize
        return lambda v, obj: (
            None if v is None else [x if x.__class__ is str else inner(x, name, obj) for x in v]
        )
    if kind is fields.List and type(field.inner) is fields.Nested and not field.inner.many:
        nested = plain_row_schema(field.inner.schema)
        if nested is not None:
            return lambda v, obj: None if v is None else nested._serialize(v, many=True)
    if kind is fields.Nested and not field.many:
        nested = plain_row_schema(field.schema)
        if nested is not None:
            return lambda v, obj: None if v is None else nested.dump_one(v)
    return None


def plain_row_schema(schema):
    """`schema` when dumping it needs no more than its fields (a RowSchema, single,
    without dump hooks), else None."""
    if not isinstance(schema, RowSchema) or schema.many:
        return None
    if schema._hooks[PRE_DUMP] or schema._hooks[POST_DUMP]:
        return None
    return schema
