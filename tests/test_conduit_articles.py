"""Conduit articles: list, feed, read, create, update, delete, favourite."""

import re

import pytest

from tests.conduit_helpers import (
    API,
    ARTICLE_FIELDS,
    LIST_ITEM_FIELDS,
    PROFILE_FIELDS,
    TIMESTAMP,
    assert_conduit_error,
    get_ok,
    signed_up,
    write_article,
)
from tests.content_helpers import create_post, sign_up
from tests.sql_helpers import engine_events, sent_statements


@pytest.fixture
def jake(client):
    return signed_up(client, "jake")


def slugs(client, path, headers=None):
    return [article["slug"] for article in get_ok(client, path, headers)["articles"]]


def test_create_answers_201_with_the_whole_article(client, jake):
    article = write_article(client, jake, tagList=["training", "Dragons"])
    assert set(article) == ARTICLE_FIELDS
    assert re.fullmatch(r"how-to-train-your-dragon-[0-9a-f]{6}", article["slug"])
    assert (article["description"], article["body"]) == ("Ever wonder how?", "Carefully.")
    assert article["tagList"] == ["dragons", "training"]  # normalised, in name order
    assert (article["favorited"], article["favoritesCount"]) == (False, 0)
    assert set(article["author"]) == PROFILE_FIELDS
    assert article["author"]["username"] == "jake"
    assert TIMESTAMP.match(article["createdAt"]) and TIMESTAMP.match(article["updatedAt"])


def test_a_conduit_article_is_a_published_post_in_api_v1(client, jake):
    slug = write_article(client, jake, tagList=["dragons"])["slug"]
    post = client.get(f"/api/v1/posts/{slug}").get_json()
    assert (post["status"], post["summary"], post["tags"]) == (
        "published",
        "Ever wonder how?",
        ["dragons"],
    )
    assert post["published_at"] is not None


def test_create_validates_required_fields_by_name(client, jake):
    response = client.post(f"{API}/articles", json={"article": {"title": ""}}, headers=jake)
    errors = assert_conduit_error(response, 422, "description")
    assert set(errors) == {"title", "description", "body"}


def test_create_refuses_folio_only_fields(client, jake):
    article = {"title": "T", "description": "D", "body": "B", "status": "draft"}
    response = client.post(f"{API}/articles", json={"article": article}, headers=jake)
    assert_conduit_error(response, 422, "status")


def test_create_needs_a_token(client):
    body = {"article": {"title": "T", "description": "D", "body": "B"}}
    assert_conduit_error(client.post(f"{API}/articles", json=body), 401)


def test_the_same_title_twice_gets_two_slugs(client, jake):
    first, second = write_article(client, jake), write_article(client, jake)
    assert first["slug"] != second["slug"]


def test_a_post_titled_feed_gets_a_slug_that_is_not_the_feeds_url(client, jake):
    article = write_article(client, jake, title="Feed")
    assert article["slug"].startswith("feed-")
    assert get_ok(client, f"/articles/{article['slug']}")["article"]["title"] == "Feed"


def test_get_by_slug_shows_the_callers_flags(client, jake):
    slug = write_article(client, jake)["slug"]
    fan = signed_up(client, "fan")
    client.post(f"{API}/profiles/jake/follow", headers=fan)
    client.post(f"{API}/articles/{slug}/favorite", headers=fan)
    article = get_ok(client, f"/articles/{slug}", fan)["article"]
    assert (article["favorited"], article["favoritesCount"]) == (True, 1)
    assert article["author"]["following"] is True
    anonymous = get_ok(client, f"/articles/{slug}")["article"]
    assert (anonymous["favorited"], anonymous["author"]["following"]) == (False, False)


def test_drafts_and_ids_are_not_articles(client, make_user, login):
    author = sign_up(make_user, login, "writer")
    draft = create_post(client, author, title="Secret")
    assert_conduit_error(client.get(f"{API}/articles/{draft['slug']}", headers=author), 404)
    published = create_post(client, author, title="Public", status="published")
    assert_conduit_error(client.get(f"{API}/articles/{published['id']}"), 404)


def test_an_unknown_slug_is_404(client):
    assert_conduit_error(client.get(f"{API}/articles/nothing-here"), 404)


def test_list_is_newest_first_without_bodies_with_the_total_count(client, jake):
    for i in range(3):
        write_article(client, jake, title=f"Article {i}")
    listing = get_ok(client, "/articles?limit=2")
    assert listing["articlesCount"] == 3
    assert [a["title"] for a in listing["articles"]] == ["Article 2", "Article 1"]
    assert set(listing["articles"][0]) == LIST_ITEM_FIELDS
    rest = get_ok(client, "/articles?limit=2&offset=2")
    assert ([a["title"] for a in rest["articles"]], rest["articlesCount"]) == (["Article 0"], 3)


@pytest.mark.parametrize("path", ["/articles?limit=2&offset=2", "/articles/feed?limit=2&offset=2"])
def test_an_offset_page_finds_its_ids_before_computing_columns(app, client, jake, path):
    """The OFFSET skips rows of a select of ids alone: the author, tags and counts
    (correlated subqueries) are computed for the page's rows, not the skipped ones."""
    writer = signed_up(client, "writer")
    assert client.post(f"{API}/profiles/writer/follow", headers=jake).status_code == 200
    for i in range(3):
        write_article(client, writer, title=f"Article {i}")
    with engine_events(app, "before_cursor_execute") as calls:
        assert [a["title"] for a in get_ok(client, path, jake)["articles"]] == ["Article 0"]
    (page,) = [sql for sql in sent_statements(calls) if "OFFSET" in sql]
    offset_select = enclosing_parentheses(page, page.index("OFFSET"))
    assert re.match(r"SELECT \w+\.id \nFROM posts( AS \w+)? \nWHERE", offset_select), page


def enclosing_parentheses(sql, position):
    """The text inside the innermost parentheses around `position` ("" at the top level)."""
    depth = 0
    for start in range(position, -1, -1):
        depth += {")": 1, "(": -1}.get(sql[start], 0)
        if depth < 0:
            return sql[start + 1 : position]
    return ""


def test_list_leaves_out_drafts(client, jake, make_user, login):
    write_article(client, jake, title="Out")
    create_post(client, sign_up(make_user, login, "writer"), title="Draft")
    assert get_ok(client, "/articles")["articlesCount"] == 1


def test_list_filters_by_tag_author_and_favorited(client, jake):
    jane = signed_up(client, "jane")
    dragons = write_article(client, jake, title="Dragons", tagList=["dragons"])["slug"]
    cats = write_article(client, jane, title="Cats", tagList=["cats"])["slug"]
    client.post(f"{API}/articles/{cats}/favorite", headers=jake)
    assert slugs(client, "/articles?tag=DRAGONS") == [dragons]
    assert slugs(client, "/articles?author=jane") == [cats]
    assert slugs(client, "/articles?favorited=jake") == [cats]
    assert get_ok(client, "/articles?author=nobody") == {"articles": [], "articlesCount": 0}


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "offset=-1", "limit=x"])
def test_list_rejects_bad_paging_with_422(client, query):
    field = query.split("=")[0]
    assert_conduit_error(client.get(f"{API}/articles?{query}"), 422, field)


def test_feed_lists_followed_authors_only(client, jake):
    jane = signed_up(client, "jane")
    write_article(client, jake, title="Mine")
    theirs = write_article(client, jane, title="Theirs")["slug"]
    assert get_ok(client, "/articles/feed", jake) == {"articles": [], "articlesCount": 0}
    client.post(f"{API}/profiles/jane/follow", headers=jake)
    feed = get_ok(client, "/articles/feed", jake)
    assert ([a["slug"] for a in feed["articles"]], feed["articlesCount"]) == ([theirs], 1)
    assert feed["articles"][0]["author"]["following"] is True


def test_feed_needs_a_token(client):
    assert_conduit_error(client.get(f"{API}/articles/feed"), 401)


def put_article(client, headers, slug, **fields):
    return client.put(f"{API}/articles/{slug}", json={"article": fields}, headers=headers)


def test_update_changes_fields_and_keeps_the_slug(client, jake):
    slug = write_article(client, jake)["slug"]
    response = put_article(client, jake, slug, title="New title", body="With two hands")
    assert response.status_code == 200
    article = response.get_json()["article"]
    assert (article["slug"], article["title"], article["body"]) == (
        slug,
        "New title",
        "With two hands",
    )


def test_update_by_someone_else_is_403_and_by_an_editor_is_allowed(client, jake, make_user, login):
    slug = write_article(client, jake)["slug"]
    assert_conduit_error(put_article(client, signed_up(client, "jane"), slug, body="X"), 403)
    editor = sign_up(make_user, login, "eddie", role="editor")
    assert put_article(client, editor, slug, body="Edited").status_code == 200


def test_update_an_unknown_article_is_404(client, jake):
    assert_conduit_error(put_article(client, jake, "nothing-here", body="X"), 404)


def test_delete_removes_the_article(client, jake):
    slug = write_article(client, jake)["slug"]
    stranger = signed_up(client, "stranger")
    assert_conduit_error(client.delete(f"{API}/articles/{slug}", headers=stranger), 403)
    assert client.delete(f"{API}/articles/{slug}", headers=jake).status_code == 204
    assert_conduit_error(client.get(f"{API}/articles/{slug}"), 404)


def test_favorite_and_unfavorite_are_idempotent(client, jake):
    slug = write_article(client, jake)["slug"]
    fan = signed_up(client, "fan")
    for _ in range(2):
        article = client.post(f"{API}/articles/{slug}/favorite", headers=fan).get_json()["article"]
        assert (article["favorited"], article["favoritesCount"]) == (True, 1)
    for _ in range(2):
        response = client.delete(f"{API}/articles/{slug}/favorite", headers=fan)
        article = response.get_json()["article"]
        assert (article["favorited"], article["favoritesCount"]) == (False, 0)


def test_favorite_needs_a_token(client, jake):
    slug = write_article(client, jake)["slug"]
    assert_conduit_error(client.post(f"{API}/articles/{slug}/favorite"), 401)
