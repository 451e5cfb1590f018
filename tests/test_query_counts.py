"""List endpoints run a fixed number of SQL statements, whatever the page size (no N+1).

Counts, tags, categories, authors and the caller's favourites must come from a
few queries for the whole page, never one per row. Each test counts the
statements two requests run, for a page of 5 and a page of 50 rows.
"""

import pytest

from tests.content_helpers import (
    API,
    add_comment,
    create_category,
    favorite,
    follow,
    publish,
    sign_up,
)
from tests.sql_helpers import engine_events, sent_statements

POSTS = 60


def statements_for(app, client, path, headers=None, expected_items=None):
    client.get(path, headers=headers)  # warm up: first connections, caches
    with engine_events(app, "before_cursor_execute") as statements:
        response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert statements, "no statement was counted: is the listener on the app's engine?"
    if expected_items is not None:
        assert len(response.get_json()["items"]) == expected_items
    return len(statements)


@pytest.fixture
def users(make_user, login):
    return {
        name: sign_up(make_user, login, name, role=role)
        for name, role in [
            ("alice", "author"),
            ("bob", "author"),
            ("carol", "author"),
            ("eddie", "editor"),
        ]
    }


@pytest.fixture
def busy_blog(client, users):
    """60 published posts by three authors, with categories, tags, favourites and comments."""
    authors = [users["alice"], users["bob"], users["carol"]]
    for name in ("Science", "Travel", "Food"):
        create_category(client, users["eddie"], name)
    for i in range(POSTS):
        post = publish(
            client,
            authors[i % 3],
            title=f"Post {i:02d}",
            category=["science", "travel", "food"][i % 3],
            tags=[f"tag{i % 12}", f"tag{(i + 1) % 12}"],
        )
        if i % 2 == 0:
            favorite(client, users["alice"], post)
        if i % 3 == 0:
            favorite(client, users["bob"], post)
        if i % 4 == 0:
            add_comment(client, users["carol"], post)
    return users


def test_the_anonymous_post_list_runs_the_same_few_statements_for_5_or_50_posts(
    app, client, busy_blog
):
    small = statements_for(app, client, f"{API}/posts?per_page=5", expected_items=5)
    large = statements_for(app, client, f"{API}/posts?per_page=50", expected_items=50)
    assert small == large
    assert large <= 4


def test_the_signed_in_post_list_runs_as_many_statements_for_5_or_50_posts(app, client, busy_blog):
    alice = busy_blog["alice"]
    small = statements_for(app, client, f"{API}/posts?per_page=5", alice, expected_items=5)
    large = statements_for(app, client, f"{API}/posts?per_page=50", alice, expected_items=50)
    assert small == large


def test_the_post_list_in_page_mode_runs_as_many_statements_for_5_or_50_posts(
    app, client, busy_blog
):
    alice = busy_blog["alice"]
    small = statements_for(app, client, f"{API}/posts?page=2&per_page=5", alice, 5)
    large = statements_for(app, client, f"{API}/posts?page=1&per_page=50", alice, 50)
    assert small == large


def test_a_filtered_post_list_runs_as_many_statements_for_5_or_50_posts(app, client, busy_blog):
    query = "favorited_by=alice&sort=title"
    small = statements_for(app, client, f"{API}/posts?{query}&per_page=5", expected_items=5)
    large = statements_for(app, client, f"{API}/posts?{query}&per_page=50", expected_items=30)
    assert small == large


def test_the_feed_runs_as_many_statements_for_5_or_50_posts(app, client, busy_blog):
    alice = busy_blog["alice"]
    follow(client, alice, "bob")
    follow(client, alice, "carol")
    small = statements_for(app, client, f"{API}/feed?per_page=5", alice, expected_items=5)
    large = statements_for(app, client, f"{API}/feed?per_page=50", alice, expected_items=40)
    assert small == large


def test_the_tag_list_runs_as_many_statements_for_5_or_50_tags(app, client, busy_blog):
    small = statements_for(app, client, f"{API}/tags?per_page=5", expected_items=5)
    large = statements_for(app, client, f"{API}/tags?per_page=50", expected_items=12)
    assert small == large


def test_the_category_list_runs_as_many_statements_for_1_or_3_categories(app, client, busy_blog):
    small = statements_for(app, client, f"{API}/categories?per_page=1", expected_items=1)
    large = statements_for(app, client, f"{API}/categories?per_page=50", expected_items=3)
    assert small == large


def test_the_comment_list_runs_as_many_statements_for_5_or_50_comments(app, client, users):
    post = publish(client, users["alice"])
    for i in range(12):
        add_comment(client, users[["alice", "bob", "carol"][i % 3]], post, f"comment {i}")
    path = f"{API}/posts/{post['id']}/comments"
    small = statements_for(app, client, f"{path}?per_page=5", expected_items=5)
    large = statements_for(app, client, f"{path}?per_page=50", expected_items=12)
    assert small == large


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
def test_the_follower_list_runs_as_many_statements_for_5_or_50_followers(
    app, client, make_user, login, users, signed_in
):
    for i in range(8):
        fan = sign_up(make_user, login, f"fan{i}")
        follow(client, fan, "bob")
        follow(client, fan, "carol")
    follow(client, users["alice"], "fan3")
    headers = users["alice"] if signed_in else None
    path = f"{API}/users/bob/followers"
    small = statements_for(app, client, f"{path}?per_page=5", headers, expected_items=5)
    large = statements_for(app, client, f"{path}?per_page=50", headers, expected_items=8)
    assert small == large


def test_the_following_list_runs_as_many_statements_for_5_or_50_users(
    app, client, make_user, login, users
):
    for i in range(8):
        make_user(f"star{i}")
        follow(client, users["alice"], f"star{i}")
    path = f"{API}/users/alice/following"
    small = statements_for(app, client, f"{path}?per_page=5", users["bob"], expected_items=5)
    large = statements_for(app, client, f"{path}?per_page=50", users["bob"], expected_items=8)
    assert small == large


def test_a_signed_in_list_checks_the_token_once(app, client, users):
    """auth_optional verifies the token; views asking who the viewer is must not redo it."""
    headers = users["alice"]
    client.get(f"{API}/posts", headers=headers)
    with engine_events(app, "before_cursor_execute") as calls:
        assert client.get(f"{API}/posts", headers=headers).status_code == 200
    assert len([s for s in sent_statements(calls) if "token_families" in s]) == 1
