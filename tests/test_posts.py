"""Posts: create, read, update, delete, slugs, publication and who may see what."""

import re

import pytest

from tests.content_helpers import (
    API,
    AUTHOR_FIELDS,
    POST_FIELDS,
    add_comment,
    assert_problem,
    create_category,
    create_post,
    favorite,
    get_list,
    post_url,
    publish,
    sign_up,
)
from tests.test_races import run_concurrently

# --- create -------------------------------------------------------------------


def test_create_answers_201_with_location_of_the_new_post(client, alice):
    response = client.post(f"{API}/posts", json={"title": "Hello", "body": "Text"}, headers=alice)
    assert response.status_code == 201
    post = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/posts/{post['id']}")


def test_created_post_has_the_documented_representation(client, alice, editor):
    create_category(client, editor, "Science")
    post = create_post(
        client,
        alice,
        title="On Bees",
        body="Bees dance.",
        summary="Short",
        category="science",
        tags=["insects"],
    )
    assert set(post) == POST_FIELDS
    assert post["title"] == "On Bees"
    assert post["body"] == "Bees dance."
    assert post["summary"] == "Short"
    assert post["category"]["slug"] == "science"
    assert post["category"]["name"] == "Science"
    assert post["tags"] == ["insects"]
    assert set(post["author"]) == AUTHOR_FIELDS
    assert post["author"]["username"] == "alice"
    assert post["favorites_count"] == 0
    assert post["favorited"] is False
    assert post["comments_count"] == 0
    assert post["created_at"].endswith("Z")
    assert post["updated_at"].endswith("Z")


def test_a_new_post_is_a_draft_by_default_with_no_published_at(client, alice):
    post = create_post(client, alice)
    assert post["status"] == "draft"
    assert post["published_at"] is None


def test_a_post_created_as_published_has_published_at(client, alice):
    post = publish(client, alice)
    assert post["status"] == "published"
    assert post["published_at"].endswith("Z")


def test_a_post_is_never_published_before_it_was_created(client, alice):
    post = publish(client, alice)
    assert post["published_at"] >= post["created_at"]


def test_summary_and_category_are_optional(client, alice):
    post = create_post(client, alice, title="Bare", body="Only the required fields")
    assert post["category"] is None
    assert post["tags"] == []


def test_create_needs_a_token(client):
    response = client.post(f"{API}/posts", json={"title": "Hello", "body": "Text"})
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("missing", ["title", "body"])
def test_title_and_body_are_required(client, alice, missing):
    body = {"title": "Hello", "body": "Text"}
    del body[missing]
    response = client.post(f"{API}/posts", json=body, headers=alice)
    assert_problem(response, 422)
    assert missing in response.get_json()["errors"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", 7),
        ("slug", "my-own-slug"),
        ("author", {"username": "bob"}),
        ("favorites_count", 100),
        ("comments_count", 3),
        ("created_at", "2020-01-01T00:00:00Z"),
        ("updated_at", "2020-01-01T00:00:00Z"),
        ("published_at", "2020-01-01T00:00:00Z"),
        ("colour", "blue"),
    ],
)
def test_read_only_and_unknown_fields_are_rejected(client, alice, field, value):
    body = {"title": "Hello", "body": "Text", field: value}
    response = client.post(f"{API}/posts", json=body, headers=alice)
    assert_problem(response, 422)
    assert field in response.get_json()["errors"]
    assert get_list(client, f"{API}/posts?status=draft&page=1", alice)["meta"]["total"] == 0


def test_an_unknown_status_is_rejected(client, alice):
    body = {"title": "Hello", "body": "Text", "status": "archived"}
    response = client.post(f"{API}/posts", json=body, headers=alice)
    assert_problem(response, 422)
    assert "status" in response.get_json()["errors"]


def test_an_unknown_category_is_rejected_on_the_category_field(client, alice):
    body = {"title": "Hello", "body": "Text", "category": "no-such-category"}
    response = client.post(f"{API}/posts", json=body, headers=alice)
    assert_problem(response, 422)
    assert "category" in response.get_json()["errors"]


def test_tags_are_lower_cased_and_deduplicated(client, alice):
    post = create_post(client, alice, tags=["Python", "python", "FLASK", "flask"])
    assert sorted(post["tags"]) == ["flask", "python"]


def test_ten_tags_are_accepted(client, alice):
    post = create_post(client, alice, tags=[f"tag{i}" for i in range(10)])
    assert len(post["tags"]) == 10


def test_more_than_ten_tags_are_rejected(client, alice):
    body = {"title": "Hello", "body": "Text", "tags": [f"tag{i}" for i in range(11)]}
    response = client.post(f"{API}/posts", json=body, headers=alice)
    assert_problem(response, 422)
    assert "tags" in response.get_json()["errors"]


@pytest.mark.parametrize(
    "oversized",
    [
        {"title": "x" * 1000},
        {"summary": "x" * 10_000},
        {"tags": ["x" * 300]},
        {"category": "x" * 300},
    ],
    ids=["title", "summary", "tag", "category"],
)
def test_an_oversized_field_is_refused_cleanly(client, alice, oversized):
    """Whatever the limits are, a long value is a validation error, never a database error."""
    body = {"title": "Hello", "body": "Text", **oversized}
    response = client.post(f"{API}/posts", json=body, headers=alice)
    assert response.status_code in (201, 422), response.get_json()


@pytest.mark.parametrize("field", ["title", "body", "summary", "tags", "category"])
def test_a_nul_character_in_a_field_is_refused_cleanly(client, alice, field):
    value = ["py\x00thon"] if field == "tags" else "py\x00thon"
    body = {"title": "Hello", "body": "Text", field: value}
    response = client.post(f"{API}/posts", json=body, headers=alice)
    assert response.status_code in (201, 422), response.get_json()


def test_concurrent_posts_with_one_new_tag_all_succeed(app, client, alice):
    body = {"title": "Tagged", "body": "Text", "tags": ["brand-new"], "status": "published"}
    requests = [("post", f"{API}/posts", {"json": body, "headers": alice})] * 4
    results = run_concurrently(app, requests)
    assert [r.status_code for r in results] == [201] * 4
    assert get_list(client, f"{API}/tags")["items"] == [{"name": "brand-new", "posts_count": 4}]


def test_malformed_json_is_400(client, alice):
    response = client.post(
        f"{API}/posts", data='{"title": "Hello",', content_type="application/json", headers=alice
    )
    assert_problem(response, 400)


def test_a_body_that_is_not_json_is_415(client, alice):
    response = client.post(
        f"{API}/posts", data="title=Hello&body=Text", content_type="text/plain", headers=alice
    )
    assert_problem(response, 415)


# --- slugs --------------------------------------------------------------------


def test_the_slug_is_derived_from_the_title(client, alice):
    post = create_post(client, alice, title="Hello, Brave New World!")
    assert re.fullmatch(r"hello-brave-new-world-[0-9a-f]{6}", post["slug"])


def test_a_slug_reveals_nothing_about_drafts_the_caller_cannot_see(client, alice, bob):
    """With or without alice's draft of the same title, bob's slug has the same form."""
    alone = create_post(client, bob, title="Secret Plan")["slug"]
    create_post(client, alice, title="Secret Plan")  # a draft bob cannot see
    beside_a_draft = create_post(client, bob, title="Secret Plan")["slug"]
    for slug in (alone, beside_a_draft):
        assert re.fullmatch(r"secret-plan-[0-9a-f]{6}", slug)


def test_a_second_post_with_the_same_title_gets_another_slug(client, alice, bob):
    first = create_post(client, alice, title="Same Title")
    second = create_post(client, bob, title="Same Title")
    assert first["slug"] != second["slug"]
    assert client.get(post_url(second["slug"]), headers=bob).get_json()["id"] == second["id"]


def test_the_slug_stays_when_the_title_changes(client, alice):
    post = create_post(client, alice, title="First Title")
    response = client.patch(post_url(post), json={"title": "Second Title"}, headers=alice)
    assert response.status_code == 200
    assert response.get_json()["slug"] == post["slug"]
    assert client.get(post_url(post["slug"]), headers=alice).status_code == 200


def test_concurrent_posts_with_one_title_all_get_distinct_slugs(app, alice):
    body = {"title": "Breaking News", "body": "Text"}
    requests = [("post", f"{API}/posts", {"json": body, "headers": alice})] * 4
    results = run_concurrently(app, requests)
    assert [r.status_code for r in results] == [201] * 4
    assert len({r.get_json()["slug"] for r in results}) == 4


@pytest.mark.parametrize("title", ["2024", "1984!", "???", "日本語"])
def test_a_slug_always_contains_a_letter_and_finds_its_post(client, alice, title):
    post = create_post(client, alice, title=title)
    assert any(ch.isalpha() for ch in post["slug"])
    response = client.get(post_url(post["slug"]), headers=alice)
    assert response.status_code == 200
    assert response.get_json()["id"] == post["id"]


# --- read ---------------------------------------------------------------------


def test_a_published_post_is_readable_by_anyone_by_id_or_slug(client, alice):
    post = publish(client, alice, title="Public Post")
    for key in (post["id"], post["slug"]):
        response = client.get(post_url(key))
        assert response.status_code == 200
        assert response.get_json() == {**post, "favorited": False}


@pytest.mark.parametrize(
    "path",
    ["/posts/{id}/", "/posts/", "/posts/{id}/comments/", "/categories/", "/tags/", "/users/alice/"],
)
def test_urls_match_with_or_without_a_trailing_slash(client, alice, path):
    post = publish(client, alice)
    response = client.get(API + path.format(id=post["id"]))
    assert response.status_code == 200
    assert "Location" not in response.headers


def test_an_unsupported_method_is_405_problem(client, alice):
    post = publish(client, alice)
    assert_problem(client.put(post_url(post), json={"title": "Whole"}, headers=alice), 405)


@pytest.mark.parametrize(
    "key", ["12345", "no-such-post", "99999999999999999999999", "2147483648", "a%00b", "%C2%B3"]
)
def test_an_unknown_post_is_404_problem(client, key):
    assert_problem(client.get(f"{API}/posts/{key}"), 404)


def test_the_list_shows_items_without_their_body(client, alice):
    publish(client, alice)
    items = get_list(client, f"{API}/posts")["items"]
    assert len(items) == 1
    assert set(items[0]) == POST_FIELDS - {"body"}


# --- drafts and who may see them ------------------------------------------------


def test_a_draft_is_404_to_anonymous_readers(client, alice):
    draft = create_post(client, alice)
    assert_problem(client.get(post_url(draft)), 404)
    assert_problem(client.get(post_url(draft["slug"])), 404)


def test_a_draft_is_404_to_other_authors(client, alice, bob):
    draft = create_post(client, alice)
    assert_problem(client.get(post_url(draft), headers=bob), 404)
    assert_problem(client.patch(post_url(draft), json={"title": "Mine"}, headers=bob), 404)
    assert_problem(client.delete(post_url(draft), headers=bob), 404)


def test_a_draft_is_visible_to_its_author(client, alice):
    draft = create_post(client, alice)
    assert client.get(post_url(draft), headers=alice).status_code == 200


@pytest.mark.parametrize("role", ["editor", "admin"])
def test_a_draft_is_visible_to_editors_and_admins(client, alice, make_user, login, role):
    draft = create_post(client, alice)
    staff = sign_up(make_user, login, "staff", role=role)
    assert client.get(post_url(draft), headers=staff).status_code == 200


def test_drafts_stay_out_of_the_public_list(client, alice):
    create_post(client, alice, title="Secret")
    publish(client, alice, title="Open")
    assert [item["title"] for item in get_list(client, f"{API}/posts")["items"]] == ["Open"]


# --- update -------------------------------------------------------------------


def test_the_owner_updates_a_post(client, alice, editor):
    create_category(client, editor, "Travel")
    post = create_post(client, alice, title="Old", tags=["a"])
    changes = {
        "title": "New",
        "summary": "Sum",
        "body": "New body",
        "category": "travel",
        "tags": ["b", "C"],
    }
    response = client.patch(post_url(post), json=changes, headers=alice)
    assert response.status_code == 200
    updated = response.get_json()
    assert (updated["title"], updated["summary"], updated["body"]) == ("New", "Sum", "New body")
    assert updated["category"]["slug"] == "travel"
    assert sorted(updated["tags"]) == ["b", "c"]
    assert client.get(post_url(post), headers=alice).get_json() == updated


def test_a_patch_changes_only_the_fields_it_names(client, alice):
    post = create_post(client, alice, title="Keep", body="Old body", summary="Keep too")
    response = client.patch(post_url(post), json={"body": "New body"}, headers=alice)
    updated = response.get_json()
    assert (updated["title"], updated["summary"], updated["body"]) == (
        "Keep",
        "Keep too",
        "New body",
    )


def test_a_post_may_be_patched_by_slug(client, alice):
    post = create_post(client, alice)
    response = client.patch(post_url(post["slug"]), json={"title": "By slug"}, headers=alice)
    assert response.status_code == 200
    assert response.get_json()["title"] == "By slug"


def test_category_null_uncategorises_a_post(client, alice, editor):
    create_category(client, editor, "Travel")
    post = create_post(client, alice, category="travel")
    response = client.patch(post_url(post), json={"category": None}, headers=alice)
    assert response.status_code == 200
    assert response.get_json()["category"] is None


@pytest.mark.parametrize(
    "changes",
    [
        {"author": {"username": "bob"}},
        {"slug": "other"},
        {"id": 99},
        {"favorites_count": 5},
        {"published_at": "2020-01-01T00:00:00Z"},
        {"status": "archived"},
        {"category": "no-such-category"},
        {"tags": [f"t{i}" for i in range(11)]},
        {"colour": "blue"},
    ],
)
def test_a_patch_with_a_field_a_client_may_not_set_is_422_and_changes_nothing(
    client, alice, changes
):
    post = create_post(client, alice, title="Unchanged")
    response = client.patch(post_url(post), json={"title": "Changed", **changes}, headers=alice)
    assert_problem(response, 422)
    assert next(iter(changes)) in response.get_json()["errors"]
    assert client.get(post_url(post), headers=alice).get_json()["title"] == "Unchanged"


def test_another_author_may_not_edit_a_published_post(client, alice, bob):
    post = publish(client, alice, title="Mine")
    assert_problem(client.patch(post_url(post), json={"title": "Ours"}, headers=bob), 403)
    assert client.get(post_url(post)).get_json()["title"] == "Mine"


def test_editing_needs_a_token(client, alice):
    post = publish(client, alice)
    response = client.patch(post_url(post), json={"title": "Anon"})
    assert_problem(response, 401)


@pytest.mark.parametrize("role", ["editor", "admin"])
def test_editors_and_admins_edit_any_post(client, alice, make_user, login, role):
    staff = sign_up(make_user, login, "staff", role=role)
    post = create_post(client, alice)
    response = client.patch(post_url(post), json={"title": "Edited"}, headers=staff)
    assert response.status_code == 200
    assert response.get_json()["title"] == "Edited"
    assert response.get_json()["author"]["username"] == "alice"


# --- publication ---------------------------------------------------------------


def test_publishing_a_draft_sets_published_at(client, alice):
    draft = create_post(client, alice)
    response = client.patch(post_url(draft), json={"status": "published"}, headers=alice)
    assert response.status_code == 200
    assert response.get_json()["status"] == "published"
    assert response.get_json()["published_at"].endswith("Z")
    assert client.get(post_url(draft)).status_code == 200


def test_unpublishing_hides_the_post_again(client, alice):
    post = publish(client, alice)
    client.patch(post_url(post), json={"status": "draft"}, headers=alice)
    assert_problem(client.get(post_url(post)), 404)


def test_republishing_keeps_the_first_publication_date(client, alice):
    post = publish(client, alice)
    first = post["published_at"]
    client.patch(post_url(post), json={"status": "draft"}, headers=alice)
    client.patch(post_url(post), json={"title": "Edited while hidden"}, headers=alice)
    response = client.patch(post_url(post), json={"status": "published"}, headers=alice)
    assert response.get_json()["published_at"] == first


def test_editing_a_published_post_keeps_its_publication_date(client, alice):
    post = publish(client, alice)
    response = client.patch(post_url(post), json={"title": "Fixed a typo"}, headers=alice)
    assert response.get_json()["published_at"] == post["published_at"]


# --- delete -------------------------------------------------------------------


def test_the_owner_deletes_a_post(client, alice):
    post = publish(client, alice)
    response = client.delete(post_url(post), headers=alice)
    assert response.status_code == 204
    assert response.get_data() == b""
    assert_problem(client.get(post_url(post)), 404)


def test_a_post_may_be_deleted_by_slug(client, alice):
    post = publish(client, alice)
    assert client.delete(post_url(post["slug"]), headers=alice).status_code == 204
    assert_problem(client.get(post_url(post)), 404)


def test_deleting_a_post_removes_its_comments_and_favourites(client, alice, bob):
    post = publish(client, alice)
    comment = add_comment(client, bob, post)
    favorite(client, bob, post)
    assert client.delete(post_url(post), headers=alice).status_code == 204
    assert_problem(client.get(f"{API}/comments/{comment['id']}"), 404)
    assert get_list(client, f"{API}/posts?favorited_by=bob")["items"] == []


def test_another_author_may_not_delete_a_post(client, alice, bob):
    post = publish(client, alice)
    assert_problem(client.delete(post_url(post), headers=bob), 403)
    assert client.get(post_url(post)).status_code == 200


def test_deleting_needs_a_token(client, alice):
    post = publish(client, alice)
    assert_problem(client.delete(post_url(post)), 401)
    assert client.get(post_url(post)).status_code == 200


@pytest.mark.parametrize("role", ["editor", "admin"])
def test_editors_and_admins_delete_any_post(client, alice, make_user, login, role):
    staff = sign_up(make_user, login, "staff", role=role)
    post = create_post(client, alice)
    assert client.delete(post_url(post), headers=staff).status_code == 204
    assert_problem(client.get(post_url(post), headers=alice), 404)


def test_deleting_an_unknown_post_is_404(client, alice):
    assert_problem(client.delete(post_url(424242), headers=alice), 404)
    assert_problem(client.delete(post_url("99999999999999999999999"), headers=alice), 404)


def test_a_deleted_posts_slug_is_404(client, alice):
    post = publish(client, alice, title="Gone")
    client.delete(post_url(post), headers=alice)
    publish(client, alice, title="Other")
    assert_problem(client.get(post_url(post["slug"])), 404)
