"""The post list: filters, sorting, search and both pagination modes."""

import pytest

from tests.content_helpers import (
    API,
    assert_problem,
    create_category,
    create_post,
    favorite,
    get_list,
    links,
    post_url,
    publish,
    sign_up,
    titles,
)


@pytest.fixture
def blog(client, alice, bob, editor):
    """Published, newest last: Alpha (alice), Beta (bob), Delta (bob); drafts by each author."""
    create_category(client, editor, "Science")
    create_category(client, editor, "Travel")
    publish(client, alice, title="Alpha", category="science", tags=["python"])
    publish(client, bob, title="Beta", category="travel", tags=["python", "flask"])
    create_post(client, alice, title="Alice Draft", tags=["python"])
    create_post(client, bob, title="Bob Draft")
    publish(client, bob, title="Delta", tags=["rust"])


# --- what is listed -----------------------------------------------------------


def test_the_list_shows_published_posts_newest_first(client, blog):
    assert titles(client, f"{API}/posts") == ["Delta", "Beta", "Alpha"]


def test_status_published_is_the_default(client, blog):
    assert titles(client, f"{API}/posts?status=published") == ["Delta", "Beta", "Alpha"]


def test_listing_drafts_needs_a_token(client, blog):
    response = client.get(f"{API}/posts?status=draft")
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_an_author_lists_only_their_own_drafts(client, blog, alice):
    assert titles(client, f"{API}/posts?status=draft", alice) == ["Alice Draft"]


@pytest.mark.parametrize("role", ["editor", "admin"])
def test_editors_and_admins_list_every_draft(client, blog, make_user, login, role):
    staff = sign_up(make_user, login, "staff", role=role)
    assert sorted(titles(client, f"{API}/posts?status=draft", staff)) == [
        "Alice Draft",
        "Bob Draft",
    ]


def test_an_unknown_status_is_422(client, blog, alice):
    assert_problem(client.get(f"{API}/posts?status=deleted", headers=alice), 422)


# --- filters ------------------------------------------------------------------


def test_filter_by_author(client, blog):
    assert titles(client, f"{API}/posts?author=bob") == ["Delta", "Beta"]


def test_filter_by_author_ignores_case(client, blog):
    assert titles(client, f"{API}/posts?author=BOB") == ["Delta", "Beta"]


def test_filter_by_tag_ignores_case(client, blog):
    assert titles(client, f"{API}/posts?tag=Python") == ["Beta", "Alpha"]


def test_filter_by_category(client, blog):
    assert titles(client, f"{API}/posts?category=science") == ["Alpha"]


def test_filter_by_tag(client, blog):
    assert titles(client, f"{API}/posts?tag=python") == ["Beta", "Alpha"]


def test_filter_by_favorited_by(client, blog, alice, bob):
    ids = {post["title"]: post["id"] for post in get_list(client, f"{API}/posts")["items"]}
    favorite(client, alice, ids["Alpha"])
    favorite(client, alice, ids["Delta"])
    favorite(client, bob, ids["Beta"])
    assert titles(client, f"{API}/posts?favorited_by=alice") == ["Delta", "Alpha"]


def test_filters_combine(client, blog):
    assert titles(client, f"{API}/posts?author=bob&tag=python") == ["Beta"]
    assert titles(client, f"{API}/posts?author=alice&category=travel") == []


def test_an_authors_own_drafts_can_be_filtered_by_tag(client, blog, alice):
    assert titles(client, f"{API}/posts?status=draft&tag=python", alice) == ["Alice Draft"]


@pytest.mark.parametrize("query", ["author=nobody", "category=nope", "tag=nope", "favorited_by=x"])
def test_an_unknown_filter_value_gives_an_empty_list(client, blog, query):
    body = get_list(client, f"{API}/posts?{query}")
    assert body["items"] == []
    assert body["meta"]["next_cursor"] is None


@pytest.mark.parametrize("name", ["author", "category", "tag", "favorited_by", "q"])
def test_a_nul_character_in_a_filter_is_refused_cleanly(client, blog, name):
    """PostgreSQL text cannot hold NUL: the value must be refused or match nothing, not crash."""
    response = client.get(f"{API}/posts", query_string={name: "py\x00thon"})
    assert response.status_code in (200, 400, 422), response.get_json()
    if response.status_code == 200:
        assert response.get_json()["items"] == []


def test_a_page_mode_total_counts_the_filtered_posts(client, blog):
    assert get_list(client, f"{API}/posts?page=1&tag=python")["meta"]["total"] == 2


# --- sorting ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("title", ["Alpha", "Beta", "Delta"]),
        ("-title", ["Delta", "Beta", "Alpha"]),
        ("published_at", ["Alpha", "Beta", "Delta"]),
        ("-published_at", ["Delta", "Beta", "Alpha"]),
        ("created_at", ["Alpha", "Beta", "Delta"]),
        ("-created_at", ["Delta", "Beta", "Alpha"]),
    ],
)
def test_sorting_by_a_whitelisted_key(client, blog, sort, expected):
    assert titles(client, f"{API}/posts?sort={sort}") == expected


def test_published_at_and_created_at_are_different_orders(client, alice):
    early = create_post(client, alice, title="Written first, published last")
    publish(client, alice, title="Written second")
    client.patch(post_url(early), json={"status": "published"}, headers=alice)
    assert titles(client, f"{API}/posts?sort=created_at") == [
        "Written first, published last",
        "Written second",
    ]
    assert titles(client, f"{API}/posts?sort=published_at") == [
        "Written second",
        "Written first, published last",
    ]


@pytest.mark.parametrize("sort", ["body", "id", "-favorites_count", "--title", "title,-id", ""])
def test_any_other_sort_is_422(client, blog, sort):
    assert_problem(client.get(f"{API}/posts?sort={sort}"), 422)


# --- pagination ---------------------------------------------------------------


@pytest.fixture
def many_posts(client, alice):
    for i in range(21):
        publish(client, alice, title=f"Post {i:02d}")


def test_per_page_defaults_to_20(client, many_posts):
    body = get_list(client, f"{API}/posts")
    assert body["meta"]["per_page"] == 20
    assert len(body["items"]) == 20
    assert body["meta"]["next_cursor"]


@pytest.mark.parametrize("query", ["per_page=0", "per_page=101", "page=0", "page=abc"])
def test_paging_arguments_out_of_range_are_422(client, query):
    assert_problem(client.get(f"{API}/posts?{query}"), 422)


def test_page_mode_gives_totals_and_links(client, many_posts):
    response = client.get(f"{API}/posts?page=2&per_page=5&sort=title")
    body = response.get_json()
    assert body["meta"] == {"page": 2, "per_page": 5, "total": 21, "pages": 5}
    assert [item["title"] for item in body["items"]] == [f"Post {i:02d}" for i in range(5, 10)]
    rels = links(response)
    assert set(rels) == {"first", "prev", "next", "last"}
    assert "page=3" in rels["next"] and "page=5" in rels["last"]


def test_cursor_mode_is_the_default(client, many_posts):
    response = client.get(f"{API}/posts?per_page=5")
    assert set(response.get_json()["meta"]) == {"per_page", "next_cursor"}
    assert "cursor=" in links(response)["next"]


def walk(client, query, headers=None):
    """Follow next_cursor to the end; the titles in the order seen."""
    seen, cursor = [], ""
    for _ in range(50):
        body = get_list(client, f"{API}/posts?{query}&cursor={cursor}", headers)
        seen += [item["title"] for item in body["items"]]
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("cursor walk did not end")


@pytest.mark.parametrize("sort", ["title", "-title", "published_at", "-published_at"])
def test_a_cursor_walk_sees_every_post_once_in_order(client, many_posts, sort):
    seen = walk(client, f"per_page=4&sort={sort}")
    expected = sorted(f"Post {i:02d}" for i in range(21))
    assert seen == (expected[::-1] if sort.startswith("-") else expected)


def test_a_cursor_walk_of_a_filtered_list_stays_filtered(client, blog, alice):
    for i in range(5):
        publish(client, alice, title=f"Tagged {i}", tags=["python"])
    seen = walk(client, "per_page=2&tag=python")
    assert sorted(seen) == ["Alpha", "Beta"] + [f"Tagged {i}" for i in range(5)]


def test_posts_published_during_a_walk_cause_no_duplicates(client, many_posts, alice):
    first = get_list(client, f"{API}/posts?per_page=5")
    publish(client, alice, title="Newer than the cursor")
    rest = walk_from(client, "per_page=5", first["meta"]["next_cursor"])
    seen = [item["title"] for item in first["items"]] + rest
    assert len(seen) == len(set(seen)) == 21
    assert "Newer than the cursor" not in seen


def walk_from(client, query, cursor):
    seen = []
    while cursor:
        body = get_list(client, f"{API}/posts?{query}&cursor={cursor}")
        seen += [item["title"] for item in body["items"]]
        cursor = body["meta"]["next_cursor"]
    return seen


@pytest.mark.parametrize("other", ["sort=title", "tag=python", "author=alice", "q=post"])
def test_a_cursor_from_another_sort_or_filter_is_400(client, many_posts, other):
    cursor = get_list(client, f"{API}/posts?per_page=5")["meta"]["next_cursor"]
    assert_problem(client.get(f"{API}/posts?cursor={cursor}&{other}"), 400)


def test_a_tampered_cursor_is_400(client, many_posts):
    cursor = get_list(client, f"{API}/posts?per_page=5")["meta"]["next_cursor"]
    tampered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    for bad in (tampered, "garbage", "e30"):
        assert_problem(client.get(f"{API}/posts?cursor={bad}"), 400)


def test_a_cursor_from_another_list_is_400(client, many_posts):
    body = get_list(client, f"{API}/posts?per_page=5")
    cursor, post = body["meta"]["next_cursor"], body["items"][0]
    assert_problem(client.get(f"{post_url(post)}/comments?cursor={cursor}"), 400)


def test_a_posts_cursor_is_400_on_the_draft_list(client, many_posts, alice):
    cursor = get_list(client, f"{API}/posts?per_page=5")["meta"]["next_cursor"]
    assert_problem(client.get(f"{API}/posts?cursor={cursor}&status=draft", headers=alice), 400)


# --- search -------------------------------------------------------------------


@pytest.fixture
def library(client, alice):
    publish(client, alice, title="How bees dance", body="Waggle patterns in the hive.")
    publish(client, alice, title="Honey", summary="Bees make it", body="Sweet and sticky.")
    publish(client, alice, title="Gardens", body="Plant flowers that bees like to visit.")
    publish(client, alice, title="Rivers", body="Water flows downhill.")
    create_post(client, alice, title="Secret bees", body="A draft about bees.")


def test_search_matches_title_summary_and_body(client, library):
    assert sorted(titles(client, f"{API}/posts?q=bees")) == ["Gardens", "Honey", "How bees dance"]


def test_search_is_case_insensitive(client, library):
    assert titles(client, f"{API}/posts?q=RIVERS") == ["Rivers"]


def test_search_needs_every_word(client, library):
    assert titles(client, f"{API}/posts?q=bees+flowers") == ["Gardens"]


def test_search_without_a_match_is_empty(client, library):
    assert titles(client, f"{API}/posts?q=volcano") == []


@pytest.mark.parametrize("wildcard", ["%25", "_", "*"])
def test_search_treats_wildcards_as_plain_text(client, library, wildcard):
    assert titles(client, f"{API}/posts?q={wildcard}") == []


@pytest.mark.parametrize("q", ["the", "bees & !honey", "'", '"unclosed', "bee:*", "-", "a" * 200])
def test_search_text_that_looks_like_query_syntax_is_answered(client, library, q):
    response = client.get(f"{API}/posts", query_string={"q": q})
    assert response.status_code == 200, response.get_json()


def test_search_with_an_explicit_sort_keeps_that_order(client, library):
    assert titles(client, f"{API}/posts?q=bees&sort=title") == [
        "Gardens",
        "Honey",
        "How bees dance",
    ]


def test_search_combines_with_filters(client, library, bob):
    publish(client, bob, title="Bob on bees")
    assert titles(client, f"{API}/posts?q=bees&author=bob") == ["Bob on bees"]


def test_search_results_can_be_walked_with_a_cursor(client, library):
    seen = walk(client, "q=bees&per_page=1")
    assert sorted(seen) == ["Gardens", "Honey", "How bees dance"]


@pytest.mark.postgres
def test_postgres_search_matches_other_forms_of_a_word(client, alice):
    publish(client, alice, title="She runs every morning")
    publish(client, alice, title="A long run")
    publish(client, alice, title="Swimming")
    assert sorted(titles(client, f"{API}/posts?q=running")) == [
        "A long run",
        "She runs every morning",
    ]


def test_search_orders_by_relevance_before_date(client, alice):
    publish(client, alice, title="Volcano eruption", body="Volcano volcano lava volcano.")
    publish(client, alice, title="Islands", body="Some islands began as a volcano long ago.")
    assert titles(client, f"{API}/posts?q=volcano") == ["Volcano eruption", "Islands"]


def test_equally_relevant_search_results_come_newest_first(client, alice):
    publish(client, alice, title="Older", body="One mention of a glacier here.")
    publish(client, alice, title="Newer", body="One mention of a glacier here.")
    assert titles(client, f"{API}/posts?q=glacier") == ["Newer", "Older"]
