"""Categories (managed by editors) and tags (made by posts, counted over published posts)."""

import pytest

from tests.content_helpers import (
    API,
    CATEGORY_FIELDS,
    assert_problem,
    create_category,
    create_post,
    get_list,
    links,
    post_url,
    publish,
    sign_up,
)


def category_url(slug):
    return f"{API}/categories/{slug}"


# --- create -------------------------------------------------------------------


def test_an_editor_creates_a_category(client, editor):
    body = {"name": "Data Science", "description": "Numbers"}
    response = client.post(f"{API}/categories", json=body, headers=editor)
    assert response.status_code == 201
    category = response.get_json()
    assert set(category) == CATEGORY_FIELDS
    assert category["name"] == "Data Science"
    assert category["slug"] == "data-science"
    assert category["description"] == "Numbers"
    assert category["posts_count"] == 0
    assert response.headers["Location"].endswith("/api/v1/categories/data-science")


def test_an_admin_creates_a_category(client, make_user, login):
    admin = sign_up(make_user, login, "root", role="admin")
    assert create_category(client, admin, "Admin Made")["slug"] == "admin-made"


def test_the_description_is_optional(client, editor):
    category = create_category(client, editor, "Plain")
    assert category["description"] in (None, "")


def test_authors_may_not_create_categories(client, alice):
    response = client.post(f"{API}/categories", json={"name": "Mine"}, headers=alice)
    assert_problem(response, 403)
    assert get_list(client, f"{API}/categories")["items"] == []


def test_creating_a_category_needs_a_token(client):
    assert_problem(client.post(f"{API}/categories", json={"name": "Anon"}), 401)


@pytest.mark.parametrize(
    "body",
    [{}, {"name": ""}, {"name": "x" * 65}, {"name": None}, {"name": "Ok", "slug": "custom"}],
)
def test_an_invalid_category_is_422(client, editor, body):
    response = client.post(f"{API}/categories", json=body, headers=editor)
    assert_problem(response, 422)
    assert response.get_json()["errors"]
    assert get_list(client, f"{API}/categories")["items"] == []


@pytest.mark.parametrize("field", ["name", "description"])
def test_a_nul_character_in_a_category_is_refused_cleanly(client, editor, field):
    body = {"name": "Travel", field: "a\x00b"}
    response = client.post(f"{API}/categories", json=body, headers=editor)
    assert response.status_code in (201, 422), response.get_json()


def test_an_unknown_category_slug_with_a_nul_is_404(client):
    assert_problem(client.get(category_url("a%00b")), 404)


def test_a_name_of_64_characters_is_accepted(client, editor):
    create_category(client, editor, "x" * 64)


def test_a_duplicate_name_is_409_whatever_its_case(client, editor):
    create_category(client, editor, "Travel")
    response = client.post(f"{API}/categories", json={"name": "TRAVEL"}, headers=editor)
    assert_problem(response, 409)
    assert len(get_list(client, f"{API}/categories")["items"]) == 1


def test_a_name_that_slugifies_like_another_never_fails_with_500(client, editor):
    create_category(client, editor, "Data Science")
    response = client.post(f"{API}/categories", json={"name": "Data-Science"}, headers=editor)
    assert response.status_code in (201, 409), response.get_json()
    if response.status_code == 201:
        assert response.get_json()["slug"] != "data-science"


# --- read ---------------------------------------------------------------------


def test_anyone_lists_categories(client, editor):
    create_category(client, editor, "Travel")
    create_category(client, editor, "Science")
    body = get_list(client, f"{API}/categories")
    assert sorted(c["slug"] for c in body["items"]) == ["science", "travel"]
    assert "meta" in body


def test_anyone_reads_a_category_by_slug(client, editor):
    category = create_category(client, editor, "Travel", description="Far away")
    response = client.get(category_url("travel"))
    assert response.status_code == 200
    assert response.get_json() == category


def test_an_unknown_category_is_404(client):
    assert_problem(client.get(category_url("nowhere")), 404)


def test_posts_count_counts_only_published_posts(client, editor, alice):
    create_category(client, editor, "Travel")
    publish(client, alice, category="travel")
    publish(client, alice, category="travel")
    create_post(client, alice, category="travel")
    assert client.get(category_url("travel")).get_json()["posts_count"] == 2
    [listed] = get_list(client, f"{API}/categories")["items"]
    assert listed["posts_count"] == 2


def test_a_post_shows_its_category(client, editor, alice):
    create_category(client, editor, "Travel")
    post = publish(client, alice, category="travel")
    category = client.get(post_url(post)).get_json()["category"]
    assert (category["name"], category["slug"]) == ("Travel", "travel")


# --- update -------------------------------------------------------------------


def test_an_editor_updates_a_category(client, editor):
    create_category(client, editor, "Travel")
    response = client.patch(category_url("travel"), json={"description": "Go"}, headers=editor)
    assert response.status_code == 200
    assert response.get_json()["description"] == "Go"
    assert client.get(category_url("travel")).get_json()["description"] == "Go"


def test_authors_may_not_update_categories(client, editor, alice):
    create_category(client, editor, "Travel", description="Before")
    response = client.patch(category_url("travel"), json={"description": "After"}, headers=alice)
    assert_problem(response, 403)
    assert client.get(category_url("travel")).get_json()["description"] == "Before"


def test_renaming_onto_another_categorys_name_is_409(client, editor):
    create_category(client, editor, "Travel")
    create_category(client, editor, "Science")
    response = client.patch(category_url("science"), json={"name": "travel"}, headers=editor)
    assert_problem(response, 409)


@pytest.mark.parametrize("changes", [{"name": ""}, {"posts_count": 9}, {"slug": "x"}])
def test_an_invalid_category_update_is_422(client, editor, changes):
    create_category(client, editor, "Travel")
    assert_problem(client.patch(category_url("travel"), json=changes, headers=editor), 422)


def test_updating_an_unknown_category_is_404(client, editor):
    response = client.patch(category_url("nowhere"), json={"description": "x"}, headers=editor)
    assert_problem(response, 404)


# --- delete -------------------------------------------------------------------


def test_an_editor_deletes_a_category(client, editor):
    create_category(client, editor, "Travel")
    assert client.delete(category_url("travel"), headers=editor).status_code == 204
    assert_problem(client.get(category_url("travel")), 404)


def test_deleting_a_category_leaves_its_posts_uncategorised(client, editor, alice):
    create_category(client, editor, "Travel")
    post = publish(client, alice, category="travel")
    client.delete(category_url("travel"), headers=editor)
    response = client.get(post_url(post))
    assert response.status_code == 200
    assert response.get_json()["category"] is None


def test_authors_may_not_delete_categories(client, editor, alice):
    create_category(client, editor, "Travel")
    assert_problem(client.delete(category_url("travel"), headers=alice), 403)
    assert client.get(category_url("travel")).status_code == 200


def test_deleting_an_unknown_category_is_404(client, editor):
    assert_problem(client.delete(category_url("nowhere"), headers=editor), 404)


# --- tags ---------------------------------------------------------------------


def tag_counts(client, query=""):
    body = get_list(client, f"{API}/tags{query}")
    return [(tag["name"], tag["posts_count"]) for tag in body["items"]]


def test_tags_are_listed_most_used_first_with_counts(client, alice):
    publish(client, alice, tags=["python", "flask", "web"])
    publish(client, alice, tags=["python", "flask"])
    publish(client, alice, tags=["python"])
    assert tag_counts(client) == [("python", 3), ("flask", 2), ("web", 1)]


def test_a_tag_has_a_name_and_a_count_only(client, alice):
    publish(client, alice, tags=["python"])
    [tag] = get_list(client, f"{API}/tags")["items"]
    assert set(tag) == {"name", "posts_count"}


def test_tags_count_only_published_posts(client, alice):
    publish(client, alice, tags=["python"])
    create_post(client, alice, tags=["python", "secret"])
    assert tag_counts(client) == [("python", 1)]


def test_the_tags_of_a_deleted_post_stop_counting(client, alice):
    publish(client, alice, tags=["python"])
    post = publish(client, alice, tags=["python", "gone"])
    client.delete(post_url(post), headers=alice)
    assert tag_counts(client) == [("python", 1)]


def test_tags_are_counted_lower_cased(client, alice):
    publish(client, alice, tags=["Python"])
    publish(client, alice, tags=["PYTHON"])
    assert tag_counts(client) == [("python", 2)]


def test_the_tag_list_is_paginated(client, alice):
    for count in range(1, 6):
        for _ in range(count):
            publish(client, alice, tags=[f"used{count}"])
    response = client.get(f"{API}/tags?page=2&per_page=2")
    body = response.get_json()
    assert body["meta"] == {"page": 2, "per_page": 2, "total": 5, "pages": 3}
    assert [t["name"] for t in body["items"]] == ["used3", "used2"]
    assert set(links(response)) == {"first", "prev", "next", "last"}


def test_a_cursor_walk_of_tags_sees_each_once_in_order(client, alice):
    for count in range(1, 6):
        for _ in range(count):
            publish(client, alice, tags=[f"used{count}"])
    seen, cursor = [], ""
    while cursor is not None:
        body = get_list(client, f"{API}/tags?per_page=2&cursor={cursor}")
        seen += [t["name"] for t in body["items"]]
        cursor = body["meta"]["next_cursor"]
    assert seen == ["used5", "used4", "used3", "used2", "used1"]


@pytest.mark.parametrize("path", ["/tags", "/categories"])
@pytest.mark.parametrize("query", ["per_page=0", "per_page=101", "page=0"])
def test_bad_paging_arguments_on_tags_and_categories_are_422(client, path, query):
    assert_problem(client.get(f"{API}{path}?{query}"), 422)
