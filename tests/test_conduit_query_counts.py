"""Conduit lists run a fixed number of SQL statements, whatever `limit` is (no N+1).

Articles embed their author's profile with the caller's `following` flag,
and comments theirs: those come from one query for the whole page, never one
per row. Each test counts the statements of a page of 5 and a page of 50.
"""

import pytest

from tests.conduit_helpers import API, comment_on, signed_up, write_article
from tests.sql_helpers import engine_events

ARTICLES = 60


def statements_for(app, client, path, headers=None, expected=None):
    client.get(path, headers=headers)  # warm up: first connections, caches
    with engine_events(app, "before_cursor_execute") as statements:
        response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    items = body.get("articles", body.get("comments"))
    if expected is not None:
        assert len(items) == expected
    return len(statements)


@pytest.fixture
def readers(client):
    return {name: signed_up(client, name) for name in ("alice", "bob", "carol")}


@pytest.fixture
def busy_site(client, readers):
    """60 articles by three authors, with tags, favourites and follows."""
    authors = list(readers.values())
    for i in range(ARTICLES):
        slug = write_article(
            client,
            authors[i % 3],
            title=f"Article {i:02d}",
            tagList=[f"tag{i % 12}", f"tag{(i + 1) % 12}"],
        )["slug"]
        if i % 2 == 0:
            client.post(f"{API}/articles/{slug}/favorite", headers=readers["alice"])
    client.post(f"{API}/profiles/bob/follow", headers=readers["alice"])
    client.post(f"{API}/profiles/carol/follow", headers=readers["alice"])
    return readers


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
def test_the_article_list_costs_the_same_for_limit_5_or_50(app, client, busy_site, signed_in):
    headers = busy_site["alice"] if signed_in else None
    small = statements_for(app, client, f"{API}/articles?limit=5", headers, expected=5)
    large = statements_for(app, client, f"{API}/articles?limit=50", headers, expected=50)
    assert small == large
    if not signed_in:
        assert large <= 5  # (BEGIN on SQLite), count, page, tags, the authors' flags


def test_a_filtered_article_list_costs_the_same_for_limit_5_or_50(app, client, busy_site):
    path = f"{API}/articles?favorited=alice&offset=1"
    small = statements_for(app, client, f"{path}&limit=5", expected=5)
    large = statements_for(app, client, f"{path}&limit=50", expected=29)
    assert small == large


def test_the_feed_costs_the_same_for_limit_5_or_50(app, client, busy_site):
    alice = busy_site["alice"]
    small = statements_for(app, client, f"{API}/articles/feed?limit=5", alice, expected=5)
    large = statements_for(app, client, f"{API}/articles/feed?limit=50", alice, expected=40)
    assert small == large


def test_the_comment_list_costs_the_same_for_1_or_12_comments(app, client, readers):
    alice = readers["alice"]
    one = write_article(client, alice, title="One")["slug"]
    many = write_article(client, alice, title="Many")["slug"]
    comment_on(client, readers["bob"], one)
    for i in range(12):
        comment_on(client, list(readers.values())[i % 3], many, f"comment {i}")
    small = statements_for(app, client, f"{API}/articles/{one}/comments", alice, expected=1)
    large = statements_for(app, client, f"{API}/articles/{many}/comments", alice, expected=12)
    assert small == large
