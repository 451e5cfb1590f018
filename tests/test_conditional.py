"""Conditional requests: ETag/304 on reads, If-Match/412 on writes, safe concurrent edits."""

import pytest

from tests.content_helpers import (
    API,
    add_comment,
    assert_problem,
    create_category,
    create_post,
    favorite,
    follow,
    post_url,
    publish,
)
from tests.test_races import run_concurrently


@pytest.fixture
def post(client, alice):
    return publish(client, alice, title="Original", body="Original body")


def etag_of(client, url, headers=None):
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.headers["ETag"]


def assert_strong(tag):
    assert not tag.startswith("W/")
    assert len(tag) > 2 and tag.startswith('"') and tag.endswith('"')


# --- ETag and If-None-Match ---------------------------------------------------


def test_a_post_has_a_strong_etag(client, post):
    assert_strong(etag_of(client, post_url(post)))


def test_the_etag_is_the_same_for_an_unchanged_post(client, post):
    assert etag_of(client, post_url(post)) == etag_of(client, post_url(post["slug"]))


def test_a_matching_if_none_match_is_304_with_no_body(client, post):
    tag = etag_of(client, post_url(post))
    response = client.get(post_url(post), headers={"If-None-Match": tag})
    assert response.status_code == 304
    assert response.get_data() == b""
    assert response.headers["ETag"] == tag


def test_if_none_match_with_a_list_containing_the_tag_is_304(client, post):
    tag = etag_of(client, post_url(post))
    response = client.get(post_url(post), headers={"If-None-Match": f'"other", {tag}'})
    assert response.status_code == 304


def test_if_none_match_star_is_304_for_an_existing_post(client, post):
    """`*` matches any current representation (RFC 9110, 13.1.2)."""
    assert client.get(post_url(post), headers={"If-None-Match": "*"}).status_code == 304


def test_if_none_match_uses_weak_comparison(client, post):
    """Proxies that compress may hand the client W/"..."; it still names this body."""
    tag = etag_of(client, post_url(post))
    assert client.get(post_url(post), headers={"If-None-Match": f"W/{tag}"}).status_code == 304


def test_a_tag_does_not_reveal_a_draft_to_anonymous_readers(client, alice):
    draft = create_post(client, alice)
    tag = etag_of(client, post_url(draft), alice)
    assert_problem(client.get(post_url(draft), headers={"If-None-Match": tag}), 404)


def test_callers_who_see_different_bodies_get_different_tags(client, post, alice, bob):
    """`favorited` is per caller, so the same tag must not stand for both bodies."""
    favorite(client, bob, post)
    mine = etag_of(client, post_url(post), bob)
    theirs = etag_of(client, post_url(post), alice)
    assert mine != theirs
    response = client.get(post_url(post), headers={**bob, "If-None-Match": theirs})
    assert response.status_code == 200
    assert response.get_json()["favorited"] is True


def test_a_stale_if_none_match_gets_the_full_post(client, post):
    response = client.get(post_url(post), headers={"If-None-Match": '"not-the-tag"'})
    assert response.status_code == 200
    assert response.get_json()["title"] == "Original"


def test_the_etag_changes_when_the_post_is_edited(client, post, alice):
    before = etag_of(client, post_url(post))
    client.patch(post_url(post), json={"title": "Edited"}, headers=alice)
    after = etag_of(client, post_url(post))
    assert after != before
    response = client.get(post_url(post), headers={"If-None-Match": before})
    assert response.status_code == 200
    assert response.get_json()["title"] == "Edited"


def test_the_etag_changes_when_the_post_is_favourited(client, post, bob):
    before = etag_of(client, post_url(post))
    favorite(client, bob, post)
    assert etag_of(client, post_url(post)) != before
    assert client.get(post_url(post), headers={"If-None-Match": before}).status_code == 200


def test_the_etag_changes_when_a_comment_is_added(client, post, bob):
    before = etag_of(client, post_url(post))
    add_comment(client, bob, post)
    assert client.get(post_url(post), headers={"If-None-Match": before}).status_code == 200


def test_a_comment_has_an_etag_that_gives_304(client, post, bob):
    comment = add_comment(client, bob, post, "First")
    url = f"{API}/comments/{comment['id']}"
    tag = etag_of(client, url)
    assert_strong(tag)
    assert client.get(url, headers={"If-None-Match": tag}).status_code == 304
    client.patch(url, json={"body": "Edited"}, headers=bob)
    assert client.get(url, headers={"If-None-Match": tag}).status_code == 200


def test_a_category_has_an_etag_that_gives_304(client, editor):
    create_category(client, editor, "Travel")
    url = f"{API}/categories/travel"
    tag = etag_of(client, url)
    assert_strong(tag)
    assert client.get(url, headers={"If-None-Match": tag}).status_code == 304
    client.patch(url, json={"description": "New"}, headers=editor)
    assert client.get(url, headers={"If-None-Match": tag}).status_code == 200


def test_a_profile_has_an_etag_that_gives_304(client, alice, bob):
    url = f"{API}/users/bob"
    tag = etag_of(client, url)
    assert_strong(tag)
    assert client.get(url, headers={"If-None-Match": tag}).status_code == 304
    client.patch("/auth/me", json={"bio": "Changed"}, headers=bob)
    assert client.get(url, headers={"If-None-Match": tag}).status_code == 200


def test_a_profiles_etag_changes_with_its_follower_count(client, alice, bob):
    url = f"{API}/users/bob"
    tag = etag_of(client, url)
    follow(client, alice, "bob")
    response = client.get(url, headers={"If-None-Match": tag})
    assert response.status_code == 200
    assert response.get_json()["followers_count"] == 1


# --- If-Match on writes -------------------------------------------------------


def test_a_patch_with_the_current_tag_succeeds(client, post, alice):
    tag = etag_of(client, post_url(post))
    response = client.patch(
        post_url(post), json={"title": "Edited"}, headers={**alice, "If-Match": tag}
    )
    assert response.status_code == 200
    assert response.get_json()["title"] == "Edited"


def test_a_patch_with_a_stale_tag_is_412_and_changes_nothing(client, post, alice):
    stale = etag_of(client, post_url(post))
    client.patch(post_url(post), json={"title": "First edit"}, headers=alice)
    response = client.patch(
        post_url(post), json={"title": "Lost update"}, headers={**alice, "If-Match": stale}
    )
    assert_problem(response, 412)
    assert client.get(post_url(post)).get_json()["title"] == "First edit"


def test_a_patch_with_an_unknown_tag_is_412(client, post, alice):
    response = client.patch(
        post_url(post), json={"title": "Edited"}, headers={**alice, "If-Match": '"bogus"'}
    )
    assert_problem(response, 412)
    assert client.get(post_url(post)).get_json()["title"] == "Original"


def test_if_match_star_succeeds(client, post, alice):
    response = client.patch(
        post_url(post), json={"title": "Edited"}, headers={**alice, "If-Match": "*"}
    )
    assert response.status_code == 200
    assert response.get_json()["title"] == "Edited"


def test_if_match_with_a_list_containing_the_current_tag_succeeds(client, post, alice):
    tag = etag_of(client, post_url(post))
    headers = {**alice, "If-Match": f'"stale", {tag}'}
    assert (
        client.patch(post_url(post), json={"title": "Edited"}, headers=headers).status_code == 200
    )


def test_if_match_never_matches_a_weak_tag(client, post, alice):
    """If-Match uses strong comparison (RFC 9110)."""
    tag = etag_of(client, post_url(post))
    headers = {**alice, "If-Match": f"W/{tag}"}
    assert_problem(client.patch(post_url(post), json={"title": "Edited"}, headers=headers), 412)


def test_someone_elses_favourite_does_not_make_an_authors_tag_stale(client, post, alice, bob):
    """If-Match compares the post's own revision; counts in the body do not conflict."""
    tag = etag_of(client, post_url(post), alice)
    favorite(client, bob, post)
    response = client.patch(
        post_url(post), json={"title": "Edited"}, headers={**alice, "If-Match": tag}
    )
    assert response.status_code == 200


def test_a_delete_with_a_stale_tag_is_412_and_keeps_the_post(client, post, alice):
    stale = etag_of(client, post_url(post))
    client.patch(post_url(post), json={"title": "Edited"}, headers=alice)
    response = client.delete(post_url(post), headers={**alice, "If-Match": stale})
    assert_problem(response, 412)
    assert client.get(post_url(post)).status_code == 200


def test_a_delete_with_the_current_tag_succeeds(client, post, alice):
    tag = etag_of(client, post_url(post))
    assert client.delete(post_url(post), headers={**alice, "If-Match": tag}).status_code == 204
    assert_problem(client.get(post_url(post)), 404)


def test_a_stale_tag_on_a_comment_edit_is_412(client, post, bob):
    comment = add_comment(client, bob, post, "One")
    url = f"{API}/comments/{comment['id']}"
    stale = etag_of(client, url)
    client.patch(url, json={"body": "Two"}, headers=bob)
    response = client.patch(url, json={"body": "Three"}, headers={**bob, "If-Match": stale})
    assert_problem(response, 412)
    assert client.get(url).get_json()["body"] == "Two"


def test_a_stale_tag_on_a_category_edit_is_412(client, editor):
    create_category(client, editor, "Travel")
    url = f"{API}/categories/travel"
    stale = etag_of(client, url)
    client.patch(url, json={"description": "One"}, headers=editor)
    response = client.patch(url, json={"description": "Two"}, headers={**editor, "If-Match": stale})
    assert_problem(response, 412)
    assert client.get(url).get_json()["description"] == "One"


def test_permission_is_checked_before_the_precondition(client, post, bob):
    """A stranger learns nothing from If-Match: 403 whatever the tag."""
    response = client.patch(
        post_url(post), json={"title": "Mine"}, headers={**bob, "If-Match": '"bogus"'}
    )
    assert_problem(response, 403)


# --- concurrent edits ---------------------------------------------------------


def test_two_concurrent_patches_with_one_tag_give_one_200_and_one_412(app, client, post, alice):
    tag = etag_of(client, post_url(post))
    headers = {**alice, "If-Match": tag}
    requests = [
        ("patch", post_url(post), {"json": {"title": f"Writer {i}"}, "headers": headers})
        for i in range(2)
    ]
    results = run_concurrently(app, requests)
    assert sorted(r.status_code for r in results) == [200, 412]
    [winner] = [r for r in results if r.status_code == 200]
    assert client.get(post_url(post)).get_json()["title"] == winner.get_json()["title"]


def unconditional_patches(post, headers, count=6):
    """PATCHes that each set title and body to a matching pair: "Title i" and "Body i"."""
    return [
        (
            "patch",
            post_url(post),
            {"json": {"title": f"Title {i}", "body": f"Body {i}"}, "headers": headers},
        )
        for i in range(count)
    ]


def written_by(post):
    """Which request wrote the title, and which the body."""
    return post["title"].removeprefix("Title "), post["body"].removeprefix("Body ")


def test_concurrent_patches_without_if_match_never_mix_fields(app, client, post, alice):
    results = run_concurrently(app, unconditional_patches(post, alice))
    assert all(r.status_code < 500 for r in results), [r.status_code for r in results]
    title_from, body_from = written_by(client.get(post_url(post)).get_json())
    assert title_from == body_from
    for response in results:
        if response.status_code == 200:
            title_from, body_from = written_by(response.get_json())
            assert title_from == body_from


def test_concurrent_patches_without_if_match_all_succeed_last_writer_wins(app, client, post, alice):
    results = run_concurrently(app, unconditional_patches(post, alice))
    assert [r.status_code for r in results] == [200] * 6
