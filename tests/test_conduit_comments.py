"""Conduit comments: GET and POST /api/articles/{slug}/comments, DELETE .../{id}."""

from tests.conduit_helpers import (
    API,
    COMMENT_FIELDS,
    TIMESTAMP,
    assert_conduit_error,
    comment_on,
    get_ok,
    signed_up,
    write_article,
)
from tests.content_helpers import sign_up


def test_add_comment_answers_200_with_the_comment(client):
    jake = signed_up(client, "jake")
    slug = write_article(client, jake)["slug"]
    comment = comment_on(client, jake, slug, "His name was my name too.")
    assert set(comment) == COMMENT_FIELDS
    assert comment["body"] == "His name was my name too."
    assert comment["author"]["username"] == "jake"
    assert TIMESTAMP.match(comment["createdAt"]) and TIMESTAMP.match(comment["updatedAt"])


def test_comments_are_listed_oldest_first_with_the_callers_following_flags(client):
    jake, fan = signed_up(client, "jake"), signed_up(client, "fan")
    slug = write_article(client, jake)["slug"]
    comment_on(client, jake, slug, "first")
    comment_on(client, fan, slug, "second")
    client.post(f"{API}/profiles/jake/follow", headers=fan)
    comments = get_ok(client, f"/articles/{slug}/comments", fan)["comments"]
    assert [(c["body"], c["author"]["following"]) for c in comments] == [
        ("first", True),
        ("second", False),
    ]
    anonymous = get_ok(client, f"/articles/{slug}/comments")["comments"]
    assert [c["author"]["following"] for c in anonymous] == [False, False]


def test_comment_validation_and_auth(client):
    jake = signed_up(client, "jake")
    slug = write_article(client, jake)["slug"]
    url = f"{API}/articles/{slug}/comments"
    assert_conduit_error(client.post(url, json={"comment": {"body": ""}}, headers=jake), 422)
    assert_conduit_error(client.post(url, json={"comment": {"body": "Hi"}}), 401)
    assert_conduit_error(client.get(f"{API}/articles/nothing-here/comments"), 404)


def test_delete_comment_by_its_author_or_an_editor_only(client, make_user, login):
    jake, fan = signed_up(client, "jake"), signed_up(client, "fan")
    slug = write_article(client, jake)["slug"]
    first, second = comment_on(client, fan, slug), comment_on(client, fan, slug)
    url = f"{API}/articles/{slug}/comments"
    assert_conduit_error(client.delete(f"{url}/{first['id']}", headers=jake), 403)
    assert client.delete(f"{url}/{first['id']}", headers=fan).status_code == 204
    editor = sign_up(make_user, login, "eddie", role="editor")
    assert client.delete(f"{url}/{second['id']}", headers=editor).status_code == 204
    assert get_ok(client, f"/articles/{slug}/comments") == {"comments": []}


def test_a_comment_is_deleted_only_under_its_own_article(client):
    jake = signed_up(client, "jake")
    one = write_article(client, jake, title="One")["slug"]
    other = write_article(client, jake, title="Other")["slug"]
    comment = comment_on(client, jake, one)
    response = client.delete(f"{API}/articles/{other}/comments/{comment['id']}", headers=jake)
    assert_conduit_error(response, 404)
    assert_conduit_error(client.delete(f"{API}/articles/{one}/comments/999", headers=jake), 404)
