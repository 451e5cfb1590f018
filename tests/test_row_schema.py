"""RowSchema's planned dump gives exactly what marshmallow's own dump gives.

RowSchema (app/schemas/base.py) formats plain field types itself and hands
everything else to marshmallow. Each test dumps the same objects twice: through
the plan, and through marshmallow's `Schema._serialize` (patched in for the
reference), then compares. The objects are real query rows (with nulls, a
missing category, tags, profiles), ORM objects, dicts, and values of the
"wrong" type, which must still go through the field's own formatting.
"""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace

import pytest
from marshmallow import Schema, fields, post_dump
from sqlalchemy import select

from app.conduit.schemas import ConduitArticleListResponseSchema, ConduitArticleSchema
from app.core.pagination import page_of
from app.extensions import db
from app.models import User
from app.schemas.base import RowSchema
from app.schemas.fields import UTCDateTime
from app.schemas.post import PostListItemSchema, PostSchema
from app.services import posts
from tests.content_helpers import create_category, favorite, publish


def reference_dump(monkeypatch, schema, obj, many=None):
    """What marshmallow itself dumps: the plan switched off for this call."""
    with monkeypatch.context() as patch:
        patch.setattr(RowSchema, "_serialize", Schema._serialize)
        return schema.dump(obj, many=many)


def assert_same_dump(monkeypatch, schema, obj, many=None):
    planned = schema.dump(obj, many=many)
    assert planned == reference_dump(monkeypatch, schema, obj, many)
    return planned


@pytest.fixture
def post_rows(app, client, alice, bob, editor):
    """Published posts as the list and detail queries return them, signed in as bob."""
    travel = create_category(client, editor, "Travel")["slug"]
    publish(client, alice, title="With all", summary="S", category=travel, tags=["b", "a"])
    plain = publish(client, alice, title="Bare")  # no summary, category or tags
    favorite(client, bob, plain)
    with app.test_request_context("/"):
        viewer = db.session.scalar(select(User).where(User.username == "bob"))
        params = posts.viewer_params(viewer)
        rows = db.session.execute(posts.published_posts(viewer), params).all()
        detail = [posts.find_post(str(row.id), viewer, profiles=True) for row in rows]
        yield rows, detail


def test_post_rows_dump_as_marshmallow_dumps_them(monkeypatch, post_rows):
    rows, detail = post_rows
    items = assert_same_dump(monkeypatch, PostListItemSchema(), rows, many=True)
    assert {item["title"] for item in items} == {"With all", "Bare"}
    assert any(item["category"] is None and item["summary"] is None for item in items)
    assert any(item["tags"] == ["a", "b"] for item in items)
    assert_same_dump(monkeypatch, PostSchema(), detail[0])
    envelope = {"items": rows, "meta": {"per_page": 20, "next_cursor": None}}
    assert_same_dump(monkeypatch, page_of(PostListItemSchema)(), envelope)


def test_a_list_that_is_not_all_rows_dumps_as_marshmallow_dumps_it(monkeypatch, post_rows):
    rows, _ = post_rows
    mixed = [rows[0], dict(rows[1]._mapping), SimpleNamespace(**rows[0]._mapping)]
    assert_same_dump(monkeypatch, PostListItemSchema(), mixed, many=True)
    envelope = {"items": mixed, "meta": {"per_page": 20, "next_cursor": None}}
    assert_same_dump(monkeypatch, page_of(PostListItemSchema)(), envelope)
    assert_same_dump(monkeypatch, PostListItemSchema(), [], many=True)


def test_conduit_articles_dump_as_marshmallow_dumps_them(monkeypatch, post_rows):
    _, detail = post_rows
    assert_same_dump(monkeypatch, ConduitArticleSchema(), detail[0])
    body = {"articles": detail, "articles_count": 2}
    dumped = assert_same_dump(monkeypatch, ConduitArticleListResponseSchema(), body)
    assert dumped["articles"][0]["author"]["following"] is False
    assert "bio" in dumped["articles"][0]["author"]


class Shouted(fields.String):
    """Overrides only `_serialize`, as Conduit's NeverNull does."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value).upper()


class Mixed(RowSchema):
    name = fields.String()
    shouted = Shouted(dump_default="quiet")
    ratio = fields.Float()
    method = fields.Method("describe")  # reads no attribute: marshmallow's own way
    count = fields.Integer()
    flag = fields.Boolean()
    when = UTCDateTime(allow_none=True)
    tags = fields.List(fields.String())
    renamed = fields.String(attribute="source", data_key="shownAs")
    defaulted = fields.Integer(dump_default=7)
    dotted = fields.String(attribute="inner.name")

    def describe(self, obj):
        return "described"


VALUES = [
    # Native values.
    {
        "name": "x",
        "count": 1,
        "flag": True,
        "when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "shouted": "hey",
        "ratio": 0.5,
    },
    # Values of other types: the field's own formatting must still run.
    {
        "name": 12,
        "count": Decimal("3"),
        "flag": 1,
        "when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
        "tags": ["a", 5],
        "shouted": 7,
        "ratio": Decimal("1.25"),
    },
    # Nulls, and missing attributes (skipped, or the dump default).
    {"name": None, "count": None, "flag": None, "when": None, "tags": None, "shouted": None},
    {},
]


@pytest.mark.parametrize("values", VALUES)
@pytest.mark.parametrize("kind", ["dict", "object"])
def test_every_field_kind_dumps_as_marshmallow_dumps_it(monkeypatch, values, kind):
    values = {**values, "source": "s", "inner": {"name": "n"} if kind == "dict" else None}
    if kind == "object":
        values["inner"] = SimpleNamespace(name="n")
        obj = SimpleNamespace(**values)
    else:
        obj = values
    dumped = assert_same_dump(monkeypatch, Mixed(), obj)
    assert dumped["defaulted"] == 7
    assert dumped["shownAs"] == "s"
    assert dumped["method"] == "described"
    shouted = values.get("shouted", "missing: the dump default")
    expected = {"hey": "HEY", 7: "7", None: None}.get(shouted, "QUIET")
    assert dumped["shouted"] == expected


def test_nested_schemas_with_dump_hooks_keep_them(monkeypatch):
    class Hooked(RowSchema):
        name = fields.String()

        @post_dump
        def shout(self, data, **kwargs):
            return {**data, "name": data["name"].upper()}

    class Outer(RowSchema):
        one = fields.Nested(Hooked)
        many = fields.List(fields.Nested(Hooked))

    obj = {"one": {"name": "a"}, "many": [{"name": "b"}, {"name": "c"}]}
    dumped = assert_same_dump(monkeypatch, Outer(), obj)
    assert dumped == {"one": {"name": "A"}, "many": [{"name": "B"}, {"name": "C"}]}
