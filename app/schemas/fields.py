"""Field types shared by every schema."""

from datetime import UTC

from marshmallow import fields, validate


class UTCDateTime(fields.DateTime):
    """ISO 8601 in UTC with a `Z` suffix, as the API contract says.

    `timespec` is `datetime.isoformat`'s: "auto" leaves out a zero fraction,
    "milliseconds" always writes three digits (Conduit clients expect them).
    """

    def __init__(self, *args, timespec="auto", **kwargs):
        super().__init__(*args, **kwargs)
        self.timespec = timespec

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        return value.isoformat(timespec=self.timespec).replace("+00:00", "Z")


def text(max_length, *, min_length=0, **kwargs):
    """A string with bounds; every free-text field has an upper one."""
    return fields.String(validate=validate.Length(min=min_length, max=max_length), **kwargs)


class JSONBoolean(fields.Boolean):
    """Only JSON true and false: not 0, 1, "yes" or "on"."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value
