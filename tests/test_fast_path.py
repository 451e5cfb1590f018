"""The fast path (app/schemas/fast_path.py) dumps exactly what marshmallow dumps.

Each hot schema names a hand-written dump as its `fast_dump`. Every test here
dumps the same read rows twice, through the fast path and through marshmallow
(`Schema.dump`, the base class's own method), and compares the JSON bytes: the
same keys, in the same order, with the same values and types. The rows are
real query rows: published posts and drafts, with and without a summary,
category, tags and favourites, for an anonymous reader and a signed-in one,
in /api/v1's shape and Conduit's (authors as profiles).

The reference dump must also hold every field of the schema: a field the
schema declares and the row lacks would be left out of both dumps alike.
"""

import orjson
import pytest
from marshmallow import Schema
from sqlalchemy import select

from app.conduit.schemas import (
    ConduitArticleListItemSchema,
    ConduitArticleListResponseSchema,
    ConduitArticleSchema,
)
from app.extensions import db
from app.models import User
from app.schemas.base import OutputSchema
from app.schemas.post import PostListItemSchema, PostSchema
from app.services import posts
from app.services.listing import read_rows
from tests.content_helpers import create_category, create_post, favorite, publish

FAST_SCHEMAS = (
    PostListItemSchema,
    PostSchema,
    ConduitArticleListItemSchema,
    ConduitArticleSchema,
)


def marshmallow_dump(schema, obj, many=None):
    return Schema.dump(schema, obj, many=many)


def assert_fast_path_matches(schema, rows):
    assert rows, "no rows to compare"
    for row in rows:
        fast, reference = schema.dump(row), marshmallow_dump(schema, row)
        assert orjson.dumps(fast) == orjson.dumps(reference), type(schema).__name__
        declared = [field.data_key or name for name, field in schema.dump_fields.items()]
        assert list(reference) == declared, "the row lacks a field the schema declares"
    assert schema.dump(rows, many=True) == marshmallow_dump(schema, rows, many=True)


@pytest.fixture
def post_rows(app, client, alice, bob, editor):
    """Read rows of every kind, as anonymous and as bob (who favourited one)."""
    travel = create_category(client, editor, "Travel")["slug"]
    publish(client, alice, title="With all", summary="S", category=travel, tags=["b", "a"])
    plain = publish(client, alice, title="Bare")  # no summary, category or tags
    favorite(client, bob, plain)
    create_post(client, bob, title="Draft")  # no published_at
    client.patch(
        "/auth/me", json={"bio": "Writes.", "image": "https://x.test/a.png"}, headers=alice
    )

    def rows(viewer, *, profiles):
        with app.test_request_context("/"):
            params = posts.viewer_params(viewer)
            listed = read_rows(posts.published_posts(viewer, profiles=profiles), params).all()
            if viewer is not None and not profiles:  # drafts are not Conduit articles
                listed += read_rows(posts.draft_posts(viewer), params).all()
            detail = [posts.read_post(str(row.id), viewer, profiles=profiles) for row in listed]
            return listed, detail

    with app.app_context():
        viewer = db.session.scalar(select(User).where(User.username == "bob"))
    return {
        (who, profiles): rows(viewer if who == "bob" else None, profiles=profiles)
        for who in ("anonymous", "bob")
        for profiles in (False, True)
    }


@pytest.mark.parametrize("who", ["anonymous", "bob"])
def test_post_dumps_match_marshmallow(post_rows, who):
    listed, detail = post_rows[(who, False)]
    assert_fast_path_matches(PostListItemSchema(), listed)
    assert_fast_path_matches(PostSchema(), detail)


@pytest.mark.parametrize("who", ["anonymous", "bob"])
def test_conduit_article_dumps_match_marshmallow(post_rows, who):
    listed, detail = post_rows[(who, True)]
    assert_fast_path_matches(ConduitArticleListItemSchema(), listed)
    assert_fast_path_matches(ConduitArticleSchema(), detail)
    body = {"articles": listed, "articles_count": len(listed)}
    schema = ConduitArticleListResponseSchema()
    assert schema.dump(body) == marshmallow_dump(schema, body)


def test_the_rows_cover_nulls_tags_favourites_and_drafts(post_rows):
    listed, _ = post_rows[("bob", False)]
    dumped = PostListItemSchema().dump(listed, many=True)
    assert any(item["category"] is None and item["summary"] is None for item in dumped)
    assert any(item["tags"] == ["a", "b"] and item["category"] for item in dumped)
    assert any(item["favorited"] for item in dumped)
    assert any(item["published_at"] is None for item in dumped)
    assert any(item["author"]["image"] for item in dumped)


def test_every_fast_path_is_its_own_schemas():
    """A schema that inherits another's fast path (PostSchema from the list item)
    would dump the parent's fields: each hot schema names its own."""
    for schema in FAST_SCHEMAS:
        assert "fast_dump" in vars(schema), schema.__name__
    others = [s for s in all_subclasses(OutputSchema) if s not in FAST_SCHEMAS]
    assert all(s.fast_dump is None for s in others), "a fast path this test does not check"


def all_subclasses(cls):
    for subclass in cls.__subclasses__():
        yield subclass
        yield from all_subclasses(subclass)
