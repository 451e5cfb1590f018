"""Query arguments read through `app.core.api.QueryArgs`: webargs' values, without
werkzeug's exception per absent argument."""

from marshmallow import Schema, fields
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import MultiDict

from app.core.api import QueryArgs
from tests.content_helpers import API


class Arguments(Schema):
    name = fields.String()
    tags = fields.List(fields.String())
    page = fields.Integer()


def test_it_gives_the_values_webargs_own_proxy_gives():
    args = MultiDict([("name", "a"), ("name", "b"), ("tags", "x"), ("tags", "y")])
    ours, theirs = QueryArgs(args, Arguments()), MultiDictProxy(args, Arguments())
    for key in ("name", "tags", "page", "unknown"):
        assert ours[key] == theirs[key]
    assert Arguments().load(ours) == Arguments().load(theirs) == {"name": "a", "tags": ["x", "y"]}


def test_blueprints_parse_query_arguments_with_it(client):
    response = client.get(f"{API}/posts?per_page=2&per_page=3&page=1")
    assert response.status_code == 200
    assert response.json["meta"]["per_page"] == 2  # the first of repeated values, as before
    assert client.get(f"{API}/posts?per_page=0").status_code == 422
