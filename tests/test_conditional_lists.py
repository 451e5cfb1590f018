"""Conditional lists: a weak ETag from the list version, 304 without the list's query.

The list version (app/models/list_changes.py) is bumped by triggers on every
write to a listed table, so any write that can change a list changes its tag;
the tag also names the path, the query and the caller whose token was read.
"""

import pytest

from tests.content_helpers import (
    API,
    add_comment,
    create_category,
    favorite,
    follow,
    post_url,
    publish,
)
from tests.sql_helpers import engine_events, sent_statements

LISTS = (
    f"{API}/posts",
    f"{API}/posts?page=1",
    f"{API}/categories",
    f"{API}/tags",
    "/api/articles",
    "/api/tags",
)


def etag_of(client, path, headers=None):
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.headers["ETag"]


def revalidate(client, path, tag, headers=None):
    return client.get(path, headers={**(headers or {}), "If-None-Match": tag})


@pytest.mark.parametrize("path", LISTS)
def test_a_list_is_weakly_tagged_and_answers_a_matching_tag_with_304(client, alice, path):
    publish(client, alice)
    tag = etag_of(client, path)
    assert tag.startswith('W/"')
    response = revalidate(client, path, tag)
    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == tag
    assert revalidate(client, path, tag.removeprefix("W/")).status_code == 304
    assert revalidate(client, path, 'W/"0-other"').status_code == 200


def test_a_304_runs_no_list_query(app, client, alice):
    """One statement: the list version. No SELECT over posts, no count."""
    publish(client, alice)
    path = f"{API}/posts?page=1"
    tag = etag_of(client, path)
    with engine_events(app, "before_cursor_execute") as calls:
        assert revalidate(client, path, tag).status_code == 304
    statements = sent_statements(calls)
    assert len(statements) == 1, statements
    assert "counters" in statements[0]
    assert "posts" not in statements[0]


def test_comments_304_without_loading_the_post(app, client, alice):
    post = publish(client, alice)
    path = f"{API}/posts/{post['slug']}/comments"
    add_comment(client, alice, post)
    tag = etag_of(client, path)
    with engine_events(app, "before_cursor_execute") as calls:
        assert revalidate(client, path, tag).status_code == 304
    assert len(calls) == 1


def changed_by(client, write, path=f"{API}/posts", headers=None):
    """Whether `write()` changes the tag of `path` (and a revalidation gets a 200)."""
    before = etag_of(client, path, headers)
    write()
    after = revalidate(client, path, before, headers)
    return after.status_code == 200 and after.headers["ETag"] != before


def test_every_kind_of_write_changes_the_tag(client, alice, bob, editor):
    post = publish(client, alice, tags=["python"])
    url = post_url(post)
    draft = client.post(f"{API}/posts", json={"title": "D", "body": "x"}, headers=alice)
    draft_url = post_url(draft.get_json())
    writes = {
        "create": lambda: publish(client, bob, title="Another"),
        "edit": lambda: client.patch(url, json={"title": "Edited"}, headers=alice),
        "publish": lambda: client.patch(draft_url, json={"status": "published"}, headers=alice),
        "favourite": lambda: favorite(client, bob, post),
        "comment": lambda: add_comment(client, bob, post),
        "follow": lambda: follow(client, bob, "alice"),
        "tag change": lambda: client.patch(url, json={"tags": ["web"]}, headers=alice),
        "category": lambda: create_category(client, editor, "News"),
        "delete": lambda: client.delete(url, headers=alice),
    }
    unchanged = [name for name, write in writes.items() if not changed_by(client, write)]
    assert unchanged == []
    assert changed_by(client, lambda: None) is False  # and nothing else moves it


def test_different_queries_and_viewers_get_different_tags(client, alice, bob):
    publish(client, alice)
    path = f"{API}/posts"
    tags = {
        etag_of(client, path),
        etag_of(client, f"{path}?per_page=5"),
        etag_of(client, f"{path}?author=alice"),
        etag_of(client, path, alice),
        etag_of(client, path, bob),
    }
    assert len(tags) == 5
    anonymous = etag_of(client, path)
    assert revalidate(client, path, anonymous, alice).status_code == 200
    assert revalidate(client, path, etag_of(client, path, alice), bob).status_code == 200


def test_a_list_that_reads_no_token_is_the_same_for_every_caller(client, alice):
    path = f"{API}/tags"
    assert etag_of(client, path) == etag_of(client, path, alice)


def test_the_feed_is_conditional_and_private(client, alice, bob):
    follow(client, bob, "alice")
    publish(client, alice)
    path = f"{API}/feed"
    tag = etag_of(client, path, bob)
    response = revalidate(client, path, tag, bob)
    assert response.status_code == 304
    assert response.headers["Cache-Control"].startswith("private")
    assert "Authorization" in response.headers["Vary"]
    assert changed_by(client, lambda: publish(client, alice, title="New"), path, bob)


def test_a_missing_list_version_means_no_304(app, client, alice):
    from sqlalchemy import text

    from app.extensions import db

    publish(client, alice)
    tag = etag_of(client, f"{API}/posts")
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(text("DELETE FROM counters WHERE name = 'list_version'"))
    response = revalidate(client, f"{API}/posts", tag)
    assert response.status_code == 200
    assert "ETag" not in response.headers


@pytest.mark.parametrize(
    "path",
    [
        f"{API}/posts?per_page=-1",
        f"{API}/posts?category=",
        f"{API}/categories?per_page=0",
        f"{API}/tags?per_page=x",
        "/api/articles?offset=-1",
    ],
)
def test_arguments_are_checked_before_any_304(client, alice, path):
    """`If-None-Match: *` matches every tag: a request its schema refuses is still a
    422, never a 304 for a list that does not exist. (Schemathesis found this.)"""
    response = client.get(path, headers={"If-None-Match": "*"})
    assert response.status_code == 422, (response.status_code, response.get_data(as_text=True))


def test_a_valid_list_answers_the_wildcard_with_304(client, alice):
    assert client.get(f"{API}/posts", headers={"If-None-Match": "*"}).status_code == 304
