"""The shared pagination helper, exercised through the admin user list."""

import re

import pytest
from flask import request, url_for

from app.core.paging import link_header


@pytest.fixture
def many_users(make_user):
    for i in range(11):
        make_user(f"user{i:02d}")


def links(response):
    return dict(
        (rel, url)
        for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers.get("Link", ""))
    )


def test_page_mode_meta_and_links(client, admin, many_users):
    response = client.get("/api/v1/users?page=2&per_page=5", headers=admin)
    body = response.get_json()
    assert body["meta"] == {"page": 2, "per_page": 5, "total": 12, "pages": 3}
    assert [u["username"] for u in body["items"]] == [
        "user04",
        "user05",
        "user06",
        "user07",
        "user08",
    ]
    rels = links(response)
    assert set(rels) == {"first", "prev", "next", "last"}
    assert "page=3" in rels["next"] and "per_page=5" in rels["next"]
    assert rels["next"].startswith("http://localhost/api/v1/users")


def test_page_past_the_end_is_empty_with_links_back(client, admin, many_users):
    response = client.get("/api/v1/users?page=9&per_page=5", headers=admin)
    assert response.get_json()["items"] == []
    assert "page=3" in links(response)["prev"]


@pytest.mark.parametrize(
    "query",
    ["page=0", "page=-1", "page=abc", "per_page=0", "per_page=101", "page=99999999999999999999"],
)
def test_bad_paging_arguments_are_422(client, admin, query):
    response = client.get(f"/api/v1/users?{query}", headers=admin)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"


def test_cursor_mode_is_the_default(client, admin, many_users):
    body = client.get("/api/v1/users?per_page=5", headers=admin).get_json()
    assert set(body["meta"]) == {"per_page", "next_cursor"}
    assert body["meta"]["next_cursor"]


def walk(client, headers, query, first_cursor=""):
    """Follow next_cursor to the end; returns usernames in the order seen."""
    seen, cursor = [], first_cursor
    for _ in range(50):
        response = client.get(f"/api/v1/users?{query}&cursor={cursor}", headers=headers)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        seen += [u["username"] for u in body["items"]]
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            assert "Link" not in response.headers
            return seen
        assert "cursor=" in links(response)["next"]
    raise AssertionError("cursor walk did not end")


@pytest.mark.parametrize("sort", ["username", "-username", "created_at", "-created_at"])
def test_cursor_walk_sees_every_row_once_in_order(client, admin, many_users, sort):
    seen = walk(client, admin, f"per_page=4&sort={sort}")
    assert len(seen) == len(set(seen)) == 12
    if "username" in sort:
        assert seen == sorted(seen, reverse=sort.startswith("-"))


def test_rows_inserted_during_a_walk_cause_no_duplicates_or_gaps(
    client, admin, many_users, make_user
):
    first = client.get("/api/v1/users?per_page=4&sort=username", headers=admin).get_json()
    seen = [u["username"] for u in first["items"]]
    make_user("aaa_before")  # sorts before the cursor: not seen, no shift
    make_user("zzz_after")  # sorts after: seen once at the end
    seen += walk(client, admin, "per_page=4&sort=username", first["meta"]["next_cursor"])
    assert len(seen) == len(set(seen))
    assert "zzz_after" in seen and "aaa_before" not in seen
    assert len(seen) == 13


def test_tampered_cursor_is_400(client, admin, many_users):
    cursor = client.get("/api/v1/users?per_page=4", headers=admin).get_json()["meta"]["next_cursor"]
    tampered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    for bad in (tampered, "garbage", "e30"):
        response = client.get(f"/api/v1/users?cursor={bad}", headers=admin)
        assert response.status_code == 400
        assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("query", ["cursor=not+a+cursor", "cursor=%C3%A9t%C3%A9&page=2"])
def test_a_cursor_of_other_characters_is_422_in_either_mode(client, admin, many_users, query):
    """The spec's pattern for a cursor holds even when `page` makes the cursor unused."""
    response = client.get(f"/api/v1/users?{query}", headers=admin)
    assert response.status_code == 422
    assert "cursor" in response.get_json()["errors"]


@pytest.mark.parametrize("other", ["sort=-username", "sort=created_at", "role=author", "q=user"])
def test_cursor_from_another_sort_or_filter_is_400(client, admin, many_users, other):
    cursor = client.get("/api/v1/users?per_page=4", headers=admin).get_json()["meta"]["next_cursor"]
    response = client.get(f"/api/v1/users?cursor={cursor}&{other}", headers=admin)
    assert response.status_code == 400
    assert "another list" in response.get_json()["detail"]


def test_per_page_may_change_mid_walk(client, admin, many_users):
    cursor = client.get("/api/v1/users?per_page=4", headers=admin).get_json()["meta"]["next_cursor"]
    body = client.get(f"/api/v1/users?cursor={cursor}&per_page=3", headers=admin).get_json()
    assert len(body["items"]) == 3


@pytest.mark.parametrize(
    "query",
    ["page=2&per_page=5", "per_page=3&q=caf%C3%A9+%26+tea&tag=a%2Fb", "per_page=1&sort=-title"],
)
def test_links_are_the_urls_flask_builds(app, query):
    """Each link is the URL map's path with its own query: what url_for gives."""
    relations = {"next": {"page": 3}, "first": {"page": 1}, "more": {"cursor": "abc.DEF-_"}}
    with app.test_request_context(f"/api/v1/posts/?{query}"):
        expected = []
        for rel, changes in relations.items():
            args = {k: v for k, v in request.args.items() if k not in changes} | changes
            if "cursor" in changes:
                args.pop("page", None)
            expected.append(f'<{url_for("api.list_posts", **args, _external=True)}>; rel="{rel}"')
        assert link_header(relations) == ", ".join(expected)
