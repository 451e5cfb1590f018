"""Every schema of Folio's is an input schema or an output schema.

An output schema reads values with `getattr` or `dict.get`
(`OutputSchema.get_attribute`); a plain marshmallow `Schema` tries `row[name]`
first, which a SQLAlchemy row refuses with an exception, so every field of
every row would pay for one (GET /api/v1/tags: 0.36 million instructions a
request of 20 tags, bench/instructions.py).
"""

from marshmallow import Schema

import app.api
import app.auth
import app.conduit
import app.ops.health  # noqa: F401  (their schemas are defined on import)
from app.schemas.base import InputSchema, OutputSchema


def subclasses(cls):
    for subclass in cls.__subclasses__():
        yield subclass
        yield from subclasses(subclass)


def test_every_schema_is_an_input_or_an_output_schema():
    ours = {cls for cls in subclasses(Schema) if cls.__module__.startswith("app.")}
    plain = sorted(
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in ours
        if not issubclass(cls, (InputSchema, OutputSchema))
    )
    assert plain == []
