"""The bases of Folio's schemas: one for what clients send, one for what goes out."""

import re
from collections.abc import Mapping
from functools import cached_property

from marshmallow import Schema, ValidationError, fields, missing, pre_load
from marshmallow.decorators import POST_DUMP, PRE_DUMP
from sqlalchemy.engine import Row

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

    @pre_load
    def refuse_nul(self, data, **kwargs):
        if errors := unusable_text_errors(data):
            raise ValidationError(errors)
        return data


class RowSchema(Schema):
    """The base of output schemas: dumps query rows, model objects and dicts, fast.

    Marshmallow spends most of a dump in the machinery around each field
    (`serialize`, `get_value`, the accessor) rather than in the field's own
    formatting: a page of 20 posts took 650 us, more than its query. A
    RowSchema compiles its fields once into one function (`dump_one`, the way
    toastedmarshmallow did for marshmallow 2) that reads each value and, for the
    plain field types below, formats it with the field's own `_serialize` only
    when it is not already what the field would return (a `str` for a String,
    an `int` for an Integer). Any other field, and any value that is missing,
    goes through marshmallow's own `Field.serialize`, so defaults, `data_key`,
    hooks and custom fields keep their meaning; tests/test_row_schema.py checks
    the output against marshmallow's for every kind of field and object.

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
            return self.dump_many(obj)
        return self.dump_one(obj)

    def dump_many(self, items):
        dump_one = self.dump_one
        keys = shared_keys(items)
        if keys is not None:
            return [dump_one(dict(zip(keys, row, strict=True))) for row in items]
        return [dump_one(item) for item in items]

    @cached_property
    def dump_one(self):
        """`dump_one(obj)`: the dict of one object, from code generated for these fields."""
        names = {"MISSING": missing, "accessor": self.get_attribute}
        lines = [
            "def dump_one(obj):",
            "    get = obj.get if obj.__class__ is dict else None",
            "    out = {}",
        ]
        for i, (name, field) in enumerate(self.dump_fields.items()):
            key = field.data_key if field.data_key is not None else name
            source = field.attribute or name
            names[f"f{i}"] = field
            formatted = None if "." in source else formatting(i, name, field, names)
            serialize = f"f{i}.serialize({name!r}, obj, accessor=accessor)"
            if formatted is None:
                lines += [f"    v = {serialize}", f"    if v is not MISSING: out[{key!r}] = v"]
                continue
            lines += [
                f"    v = get({source!r}, MISSING) if get else getattr(obj, {source!r}, MISSING)",
                "    if v is MISSING:",
                f"        v = {serialize}",
                f"        if v is not MISSING: out[{key!r}] = v",
                "    else:",
                f"        out[{key!r}] = {formatted}",
            ]
        lines.append("    return out")
        exec("\n".join(lines), names)
        return names["dump_one"]


def shared_keys(items):
    """The column names of a list of SQLAlchemy rows (the result of one query, so
    they share them), else None.

    Each row is then dumped as a dict: an attribute of a Row costs about 0.6 us
    to read, ten times a dict's, and a page of 20 posts reads 300 of them.
    """
    if type(items) is not list or not items or not all(type(item) is Row for item in items):
        return None
    keys = items[0]._fields  # unnamed columns have none: then the row is longer
    return keys if len(set(keys)) == len(keys) == len(items[0]) else None


NATIVE_TYPES = {fields.String: str, fields.Integer: int, fields.Boolean: bool}


def formatting(i, name, field, names):
    """The expression that formats a present value `v` of field `i`, or None for
    marshmallow's way; puts what it refers to in `names`."""
    kind = type(field)
    if kind in NATIVE_TYPES and not getattr(field, "as_string", False):
        names[f"t{i}"], names[f"s{i}"] = NATIVE_TYPES[kind], field._serialize
        return f"v if v is None or v.__class__ is t{i} else s{i}(v, {name!r}, obj)"
    if kind is fields.List and type(field.inner) is fields.String:
        names[f"s{i}"] = field.inner._serialize
        each = f"x if x.__class__ is str else s{i}(x, {name!r}, obj)"
        return f"None if v is None else [{each} for x in v]"
    if kind is fields.List and type(field.inner) is fields.Nested and not field.inner.many:
        nested = plain_row_schema(field.inner.schema)
        if nested is not None:
            names[f"n{i}"] = nested.dump_many
            return f"None if v is None else n{i}(v)"
    if kind is fields.Nested and not field.many:
        nested = plain_row_schema(field.schema)
        if nested is not None:
            names[f"n{i}"] = nested.dump_one
            return f"None if v is None else n{i}(v)"
    if formats_present_values_alone(kind):
        names[f"s{i}"] = field._serialize
        return f"s{i}(v, {name!r}, obj)"
    return None


def formats_present_values_alone(kind):
    """Whether `Field.serialize` of this kind, given a value that is present, does no
    more than `_serialize(value, attr, obj)` (a DateTime, or a field overriding only
    `_serialize`): then the generated code calls that directly."""
    return (
        kind._CHECK_ATTRIBUTE
        and kind.serialize is fields.Field.serialize
        and kind.get_value is fields.Field.get_value
    )


def plain_row_schema(schema):
    """`schema` when dumping it needs no more than its fields (a RowSchema, single,
    without dump hooks), else None."""
    if not isinstance(schema, RowSchema) or schema.many:
        return None
    if schema._hooks[PRE_DUMP] or schema._hooks[POST_DUMP]:
        return None
    return schema
