"""Each public shape is declared once: the read query gives exactly what the schemas show.

The post select (app/services/posts.py: POST_FIELDS, `author`, `category`,
`base_posts_query`) cannot import the schemas (services never do), so this test
holds the two together field by field. Adding a field to a post means: the
model (and a migration), the schema, and POST_FIELDS; forgetting the last fails
here, and forgetting the fast path fails tests/test_fast_path.py.

It also pins the read model: every read of a post (a list, a single post, the
answer to a write) is the same kind of row; only writes hold an ORM Post.
"""

import pytest
from marshmallow import fields
from sqlalchemy import select
from sqlalchemy.engine import Row

from app.conduit.schemas import ConduitArticleSchema, ConduitProfileSchema
from app.extensions import db
from app.models import Post, User
from app.schemas.post import AuthorSchema, CategorySummarySchema, PostSchema
from app.services import posts
from app.services.listing import read_rows
from tests.content_helpers import create_category, publish

# Columns a post row carries for the views, not for clients: the author's id
# (permissions) and the version (ETags, If-Match).
FOR_THE_VIEWS = {"author_id", "version"}


def sources(schema):
    """{attribute read: the nested schema, or None} for each field the schema dumps."""
    shape = {}
    for name, field in schema.dump_fields.items():
        nested = field.schema if isinstance(field, fields.Nested) else None
        shape[field.attribute or name] = nested
    return shape


@pytest.fixture
def rows(app, client, alice, editor):
    """A published post with a category, read as a list row and as a single post,
    in /api/v1's shape and Conduit's, by a signed-in reader."""
    travel = create_category(client, editor, "Travel")["slug"]
    publish(client, alice, title="Shown", category=travel, tags=["a"])
    with app.test_request_context("/"):
        viewer = db.session.scalar(select(User).where(User.username == "alice"))
        params = posts.viewer_params(viewer)
        listed = read_rows(posts.published_posts(viewer), params).one()
        single = posts.read_post(str(listed.id), viewer)
        article = posts.read_post(listed.slug, viewer, profiles=True)
        changing = posts.post_to_change(str(listed.id), viewer)
        yield {"listed": listed, "single": single, "article": article, "changing": changing}


def test_a_single_post_row_holds_exactly_the_post_schemas_fields(rows):
    shape = sources(PostSchema())
    assert set(rows["single"]._fields) - FOR_THE_VIEWS == set(shape), (
        "PostSchema and the read select (services/posts.py POST_FIELDS) disagree"
    )


def test_a_list_row_holds_the_post_schemas_fields_but_the_body(rows):
    shape = sources(PostSchema())
    assert set(rows["listed"]._fields) - FOR_THE_VIEWS == set(shape) - {"body"}


def test_the_author_and_category_objects_hold_exactly_their_schemas_fields(rows):
    row = rows["single"]
    assert set(row.author) == set(sources(AuthorSchema())), "posts.author() vs AuthorSchema"
    assert set(row.category) == set(sources(CategorySummarySchema())), "posts.category()"
    nested = sources(PostSchema())
    assert type(nested["author"]) is AuthorSchema
    assert type(nested["category"]) is CategorySummarySchema


def test_a_conduit_article_row_holds_every_field_conduit_shows(rows):
    row = rows["article"]
    assert set(sources(ConduitArticleSchema())) <= set(row._fields)
    profile = set(sources(ConduitProfileSchema()))
    assert profile <= set(row.author), "posts.author(profile=True) vs ConduitProfileSchema"
    assert set(row.author) - profile <= {"id"}


def test_reads_answer_rows_and_changes_hold_orm_posts(rows):
    assert all(type(rows[kind]) is Row for kind in ("listed", "single", "article"))
    assert type(rows["changing"]) is Post
