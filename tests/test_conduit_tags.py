"""Conduit tags: GET /api/tags."""

from tests.conduit_helpers import get_ok, signed_up, write_article
from tests.content_helpers import create_post, sign_up


def test_tags_are_names_of_published_articles_most_used_first(client, make_user, login):
    jake = signed_up(client, "jake")
    write_article(client, jake, title="A", tagList=["dragons", "training"])
    write_article(client, jake, title="B", tagList=["dragons"])
    create_post(client, sign_up(make_user, login, "writer"), title="Draft", tags=["secret"])
    assert get_ok(client, "/tags") == {"tags": ["dragons", "training"]}


def test_no_tags_is_an_empty_list(client):
    assert get_ok(client, "/tags") == {"tags": []}
