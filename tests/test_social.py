"""Public profiles, follows, favourites and the feed of followed authors."""

import pytest

from tests.content_helpers import (
    API,
    PUBLIC_USER_FIELDS,
    assert_problem,
    create_post,
    favorite,
    follow,
    get_list,
    links,
    post_url,
    publish,
    sign_up,
    titles,
)
from tests.sql_helpers import captured_posts_query, rows_read
from tests.test_races import run_concurrently


def user_url(username):
    return f"{API}/users/{username}"


# --- public profiles --------------------------------------------------------------


def test_anyone_reads_a_public_profile_without_the_email(client, alice, bob):
    client.patch("/auth/me", json={"full_name": "Bob B", "bio": "Builder"}, headers=bob)
    response = client.get(user_url("bob"))
    assert response.status_code == 200
    profile = response.get_json()
    assert set(profile) == PUBLIC_USER_FIELDS
    assert profile["username"] == "bob"
    assert (profile["full_name"], profile["bio"]) == ("Bob B", "Builder")
    assert profile["created_at"].endswith("Z")
    assert (profile["followers_count"], profile["following_count"]) == (0, 0)
    assert profile["following"] is False
    assert "bob@example.com" not in response.get_data(as_text=True)


@pytest.mark.parametrize("username", ["nobody", "a%00b"])
def test_the_profile_of_an_unknown_user_is_404(client, username):
    assert_problem(client.get(user_url(username)), 404)


# --- follows ------------------------------------------------------------------


def test_following_answers_the_followed_users_profile(client, alice, bob):
    response = client.post(f"{user_url('bob')}/follow", headers=alice)
    assert response.status_code == 200
    profile = response.get_json()
    assert set(profile) == PUBLIC_USER_FIELDS
    assert profile["username"] == "bob"
    assert profile["following"] is True
    assert profile["followers_count"] == 1


def test_a_follow_shows_on_both_profiles(client, alice, bob):
    follow(client, alice, "bob")
    assert client.get(user_url("bob"), headers=alice).get_json()["following"] is True
    assert client.get(user_url("alice")).get_json()["following_count"] == 1
    assert client.get(user_url("bob")).get_json()["followers_count"] == 1


def test_following_is_false_for_anonymous_and_for_non_followers(client, alice, bob, carol):
    follow(client, alice, "bob")
    assert client.get(user_url("bob")).get_json()["following"] is False
    assert client.get(user_url("bob"), headers=carol).get_json()["following"] is False


def test_following_twice_counts_once(client, alice, bob):
    follow(client, alice, "bob")
    profile = follow(client, alice, "bob")
    assert profile["following"] is True
    assert profile["followers_count"] == 1


def test_unfollowing_answers_the_profile(client, alice, bob):
    follow(client, alice, "bob")
    response = client.delete(f"{user_url('bob')}/follow", headers=alice)
    assert response.status_code == 200
    assert response.get_json()["following"] is False
    assert response.get_json()["followers_count"] == 0


def test_unfollowing_someone_not_followed_is_harmless(client, alice, bob):
    response = client.delete(f"{user_url('bob')}/follow", headers=alice)
    assert response.status_code == 200
    assert response.get_json()["followers_count"] == 0


def test_following_yourself_is_422(client, alice):
    assert_problem(client.post(f"{user_url('alice')}/follow", headers=alice), 422)
    assert client.get(user_url("alice")).get_json()["followers_count"] == 0


def test_following_yourself_under_another_case_is_still_422(client, alice):
    assert_problem(client.post(f"{user_url('ALICE')}/follow", headers=alice), 422)
    assert client.get(user_url("alice")).get_json()["followers_count"] == 0


def test_following_an_unknown_user_is_404(client, alice):
    assert_problem(client.post(f"{user_url('nobody')}/follow", headers=alice), 404)
    assert_problem(client.delete(f"{user_url('nobody')}/follow", headers=alice), 404)


def test_following_needs_a_token(client, bob):
    assert_problem(client.post(f"{user_url('bob')}/follow"), 401)
    assert_problem(client.delete(f"{user_url('bob')}/follow"), 401)


def test_concurrent_follows_of_one_user_count_once(app, client, alice, bob):
    results = run_concurrently(app, [("post", f"{user_url('bob')}/follow", {"headers": alice})] * 4)
    assert all(r.status_code == 200 for r in results), [r.status_code for r in results]
    assert client.get(user_url("bob")).get_json()["followers_count"] == 1


def test_followers_and_following_are_lists_of_public_profiles(client, alice, bob, carol):
    follow(client, alice, "bob")
    follow(client, carol, "bob")
    follow(client, bob, "carol")
    followers = get_list(client, f"{user_url('bob')}/followers")["items"]
    assert sorted(u["username"] for u in followers) == ["alice", "carol"]
    assert all(set(u) == PUBLIC_USER_FIELDS for u in followers)
    following = get_list(client, f"{user_url('bob')}/following")["items"]
    assert [u["username"] for u in following] == ["carol"]


def test_follower_lists_are_paginated(client, make_user, login, bob):
    for i in range(5):
        follow(client, sign_up(make_user, login, f"fan{i}"), "bob")
    response = client.get(f"{user_url('bob')}/followers?page=2&per_page=2")
    body = response.get_json()
    assert body["meta"] == {"page": 2, "per_page": 2, "total": 5, "pages": 3}
    assert len(body["items"]) == 2
    assert set(links(response)) == {"first", "prev", "next", "last"}


def test_a_cursor_walk_of_followers_sees_each_once(client, make_user, login, bob):
    for i in range(5):
        follow(client, sign_up(make_user, login, f"fan{i}"), "bob")
    seen, cursor = [], ""
    while cursor is not None:
        body = get_list(client, f"{user_url('bob')}/followers?per_page=2&cursor={cursor}")
        seen += [u["username"] for u in body["items"]]
        cursor = body["meta"]["next_cursor"]
    assert sorted(seen) == [f"fan{i}" for i in range(5)]


@pytest.mark.parametrize("path", ["followers", "following"])
@pytest.mark.parametrize("query", ["per_page=0", "per_page=101", "page=0", "sort=email"])
def test_bad_arguments_on_follower_lists_are_422(client, bob, path, query):
    assert_problem(client.get(f"{user_url('bob')}/{path}?{query}"), 422)


def test_the_follower_lists_of_an_unknown_user_are_404(client):
    assert_problem(client.get(f"{user_url('nobody')}/followers"), 404)
    assert_problem(client.get(f"{user_url('nobody')}/following"), 404)


# --- favourites ---------------------------------------------------------------


def test_favouriting_answers_the_post_favourited(client, alice, bob):
    post = publish(client, alice)
    response = client.post(f"{post_url(post)}/favorite", headers=bob)
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == post["id"]
    assert body["favorited"] is True
    assert body["favorites_count"] == 1


def test_favouriting_twice_counts_once(client, alice, bob):
    post = publish(client, alice)
    favorite(client, bob, post)
    body = favorite(client, bob, post)
    assert (body["favorited"], body["favorites_count"]) == (True, 1)


def test_unfavouriting_answers_the_post_unfavourited(client, alice, bob):
    post = publish(client, alice)
    favorite(client, bob, post)
    response = client.delete(f"{post_url(post)}/favorite", headers=bob)
    assert response.status_code == 200
    assert (response.get_json()["favorited"], response.get_json()["favorites_count"]) == (False, 0)


def test_unfavouriting_a_post_not_favourited_is_harmless(client, alice, bob):
    post = publish(client, alice)
    favorite(client, alice, post)
    response = client.delete(f"{post_url(post)}/favorite", headers=bob)
    assert response.status_code == 200
    assert (response.get_json()["favorited"], response.get_json()["favorites_count"]) == (False, 1)


def test_favorited_is_true_only_for_the_caller_who_favourited(client, alice, bob, carol):
    post = publish(client, alice)
    favorite(client, bob, post)
    assert client.get(post_url(post), headers=bob).get_json()["favorited"] is True
    as_carol = client.get(post_url(post), headers=carol).get_json()
    assert (as_carol["favorited"], as_carol["favorites_count"]) == (False, 1)
    assert client.get(post_url(post)).get_json()["favorited"] is False


def test_favorited_in_a_list_is_per_post_and_per_caller(client, alice, bob):
    liked = publish(client, alice, title="Liked")
    publish(client, alice, title="Not liked")
    favorite(client, bob, liked)
    items = get_list(client, f"{API}/posts", bob)["items"]
    assert {i["title"]: (i["favorited"], i["favorites_count"]) for i in items} == {
        "Liked": (True, 1),
        "Not liked": (False, 0),
    }
    anonymous = get_list(client, f"{API}/posts")["items"]
    assert [i["favorited"] for i in anonymous] == [False, False]


def test_favouriting_a_post_by_slug(client, alice, bob):
    post = publish(client, alice)
    assert favorite(client, bob, post["slug"])["favorites_count"] == 1


def test_favouriting_needs_a_token(client, alice):
    post = publish(client, alice)
    assert_problem(client.post(f"{post_url(post)}/favorite"), 401)
    assert_problem(client.delete(f"{post_url(post)}/favorite"), 401)


def test_favouriting_an_unknown_post_is_404(client, bob):
    assert_problem(client.post(f"{post_url(123456)}/favorite", headers=bob), 404)


def test_favouriting_someone_elses_draft_is_404(client, alice, bob):
    draft = create_post(client, alice)
    assert_problem(client.post(f"{post_url(draft)}/favorite", headers=bob), 404)


def test_twenty_concurrent_favourites_count_twenty(app, client, make_user, login):
    fans = [sign_up(make_user, login, f"fan{i:02d}") for i in range(20)]
    post = publish(client, fans[0])
    results = run_concurrently(
        app, [("post", f"{post_url(post)}/favorite", {"headers": fan}) for fan in fans]
    )
    assert [r.status_code for r in results] == [200] * 20
    assert client.get(post_url(post)).get_json()["favorites_count"] == 20


def test_concurrent_favourites_by_one_user_count_once(app, client, alice, bob):
    post = publish(client, alice)
    requests = [("post", f"{post_url(post)}/favorite", {"headers": bob})] * 4
    results = run_concurrently(app, requests)
    assert [r.status_code for r in results] == [200] * 4
    assert client.get(post_url(post)).get_json()["favorites_count"] == 1


# --- feed ---------------------------------------------------------------------


def test_the_feed_needs_a_token(client):
    response = client.get(f"{API}/feed")
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_the_feed_shows_published_posts_of_followed_authors_newest_first(client, alice, bob, carol):
    publish(client, bob, title="Bob old")
    publish(client, carol, title="Carol")
    create_post(client, bob, title="Bob draft")
    publish(client, alice, title="Alice own")
    publish(client, bob, title="Bob new")
    follow(client, alice, "bob")
    assert titles(client, f"{API}/feed", alice) == ["Bob new", "Bob old"]


def test_the_feed_is_empty_when_following_nobody(client, alice, bob):
    publish(client, bob)
    body = get_list(client, f"{API}/feed", alice)
    assert body["items"] == []


def test_unfollowing_removes_an_author_from_the_feed(client, alice, bob):
    publish(client, bob)
    follow(client, alice, "bob")
    client.delete(f"{user_url('bob')}/follow", headers=alice)
    assert titles(client, f"{API}/feed", alice) == []


def test_the_feed_is_paginated(client, alice, bob):
    for i in range(5):
        publish(client, bob, title=f"Bob {i}")
    follow(client, alice, "bob")
    response = client.get(f"{API}/feed?page=1&per_page=2", headers=alice)
    body = response.get_json()
    assert body["meta"] == {"page": 1, "per_page": 2, "total": 5, "pages": 3}
    assert [p["title"] for p in body["items"]] == ["Bob 4", "Bob 3"]
    seen, cursor = [], ""
    while cursor is not None:
        page = get_list(client, f"{API}/feed?per_page=2&cursor={cursor}", alice)
        seen += [p["title"] for p in page["items"]]
        cursor = page["meta"]["next_cursor"]
    assert seen == [f"Bob {i}" for i in range(4, -1, -1)]


def test_feed_items_omit_the_body(client, alice, bob):
    publish(client, bob)
    follow(client, alice, "bob")
    [item] = get_list(client, f"{API}/feed", alice)["items"]
    assert "body" not in item
    assert item["author"]["username"] == "bob"


@pytest.mark.postgres
def test_the_feed_of_someone_following_nobody_reads_no_posts(app, client, alice, bob):
    """Not a walk through every published post in search of followed authors."""
    for i in range(3):
        publish(client, bob, title=f"Bob {i}")
    assert get_list(client, f"{API}/feed", alice)["items"] == []
    assert rows_read(app, *captured_posts_query(app, client, f"{API}/feed", alice)) == 0
