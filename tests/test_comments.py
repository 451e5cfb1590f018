"""Comments: listed by anyone who may see the post, written by users, owned by their author."""

import pytest

from tests.content_helpers import (
    API,
    AUTHOR_FIELDS,
    COMMENT_FIELDS,
    add_comment,
    assert_problem,
    create_post,
    get_list,
    links,
    post_url,
    publish,
    sign_up,
)


@pytest.fixture
def post(client, alice):
    return publish(client, alice, title="Commented")


def comment_url(comment):
    return f"{API}/comments/{comment['id']}"


def bodies(client, post, headers=None):
    return [c["body"] for c in get_list(client, f"{post_url(post)}/comments", headers)["items"]]


# --- create -------------------------------------------------------------------


def test_a_user_comments_on_a_post(client, post, bob):
    response = client.post(f"{post_url(post)}/comments", json={"body": "Great!"}, headers=bob)
    assert response.status_code == 201
    comment = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/comments/{comment['id']}")
    assert set(comment) == COMMENT_FIELDS
    assert comment["body"] == "Great!"
    assert comment["post_id"] == post["id"]
    assert set(comment["author"]) == AUTHOR_FIELDS
    assert comment["author"]["username"] == "bob"
    assert comment["created_at"].endswith("Z")
    assert comment["updated_at"].endswith("Z")


def test_a_comment_may_be_posted_by_slug(client, post, bob):
    comment = add_comment(client, bob, post["slug"], "Via slug")
    assert comment["post_id"] == post["id"]


def test_commenting_needs_a_token(client, post):
    response = client.post(f"{post_url(post)}/comments", json={"body": "Anon"})
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert bodies(client, post) == []


@pytest.mark.parametrize(
    "body",
    [{}, {"body": ""}, {"body": None}, {"body": 42}, {"body": "ok", "author": "x"}, {"id": 3}],
)
def test_an_invalid_comment_is_422_and_not_stored(client, post, bob, body):
    response = client.post(f"{post_url(post)}/comments", json=body, headers=bob)
    assert_problem(response, 422)
    assert response.get_json()["errors"]
    assert bodies(client, post) == []


def test_a_nul_character_in_a_comment_is_refused_cleanly(client, post, bob):
    response = client.post(f"{post_url(post)}/comments", json={"body": "a\x00b"}, headers=bob)
    assert response.status_code in (201, 422), response.get_json()


def test_commenting_on_an_unknown_post_is_404(client, bob):
    response = client.post(f"{post_url(98765)}/comments", json={"body": "Hi"}, headers=bob)
    assert_problem(response, 404)


def test_a_comment_counts_on_its_post(client, post, alice, bob):
    add_comment(client, bob, post)
    add_comment(client, alice, post)
    assert client.get(post_url(post)).get_json()["comments_count"] == 2


# --- read ---------------------------------------------------------------------


def test_anyone_lists_the_comments_of_a_post_oldest_first(client, post, alice, bob):
    for i, headers in enumerate([bob, alice, bob]):
        add_comment(client, headers, post, f"comment {i}")
    assert bodies(client, post) == ["comment 0", "comment 1", "comment 2"]


def test_the_comment_list_is_paginated(client, post, bob):
    for i in range(5):
        add_comment(client, bob, post, f"comment {i}")
    response = client.get(f"{post_url(post)}/comments?page=2&per_page=2")
    body = response.get_json()
    assert body["meta"] == {"page": 2, "per_page": 2, "total": 5, "pages": 3}
    assert [c["body"] for c in body["items"]] == ["comment 2", "comment 3"]
    assert set(links(response)) == {"first", "prev", "next", "last"}


def test_a_cursor_walk_of_comments_sees_each_once_in_order(client, post, bob):
    for i in range(5):
        add_comment(client, bob, post, f"comment {i}")
    seen, cursor = [], ""
    while cursor is not None:
        body = get_list(client, f"{post_url(post)}/comments?per_page=2&cursor={cursor}")
        seen += [c["body"] for c in body["items"]]
        cursor = body["meta"]["next_cursor"]
    assert seen == [f"comment {i}" for i in range(5)]


def test_comments_stay_with_their_post(client, post, alice, bob):
    other = publish(client, alice, title="Other")
    add_comment(client, bob, post, "on the first")
    add_comment(client, bob, other, "on the other")
    assert bodies(client, post) == ["on the first"]


def test_the_comments_of_an_unknown_post_are_404(client):
    assert_problem(client.get(f"{post_url('no-such-post')}/comments"), 404)


def test_anyone_reads_a_single_comment(client, post, bob):
    comment = add_comment(client, bob, post, "Readable")
    response = client.get(comment_url(comment))
    assert response.status_code == 200
    assert response.get_json() == comment


@pytest.mark.parametrize("key", ["424242", "99999999999999999999999", "abc"])
def test_an_unknown_comment_is_404(client, key):
    assert_problem(client.get(f"{API}/comments/{key}"), 404)


# --- comments on drafts ---------------------------------------------------------


@pytest.fixture
def draft(client, alice):
    return create_post(client, alice, title="Hidden")


def test_the_author_comments_on_their_own_draft(client, draft, alice):
    add_comment(client, alice, draft, "Note to self")
    assert bodies(client, draft, alice) == ["Note to self"]


def test_the_comments_of_a_draft_are_404_to_others(client, draft, alice, bob):
    comment = add_comment(client, alice, draft, "Note to self")
    assert_problem(client.get(f"{post_url(draft)}/comments"), 404)
    assert_problem(client.get(f"{post_url(draft)}/comments", headers=bob), 404)
    assert_problem(client.get(comment_url(comment)), 404)
    assert_problem(client.get(comment_url(comment), headers=bob), 404)


def test_others_may_not_comment_on_a_draft(client, draft, bob):
    response = client.post(f"{post_url(draft)}/comments", json={"body": "Hi"}, headers=bob)
    assert_problem(response, 404)


def test_editors_see_the_comments_of_a_draft(client, draft, alice, editor):
    add_comment(client, alice, draft, "Note to self")
    assert bodies(client, draft, editor) == ["Note to self"]


# --- update -------------------------------------------------------------------


def test_the_owner_edits_a_comment(client, post, bob):
    comment = add_comment(client, bob, post, "Tpyo")
    response = client.patch(comment_url(comment), json={"body": "Typo"}, headers=bob)
    assert response.status_code == 200
    assert response.get_json()["body"] == "Typo"
    assert client.get(comment_url(comment)).get_json()["body"] == "Typo"


@pytest.mark.parametrize("who", ["alice", "editor"])
def test_nobody_but_the_owner_edits_a_comment(client, post, bob, request, who):
    """Not even the post's author or an editor: words are not put in someone's mouth."""
    comment = add_comment(client, bob, post, "Mine")
    headers = request.getfixturevalue(who)
    assert_problem(
        client.patch(comment_url(comment), json={"body": "Edited"}, headers=headers), 403
    )
    assert client.get(comment_url(comment)).get_json()["body"] == "Mine"


def test_editing_a_comment_needs_a_token(client, post, bob):
    comment = add_comment(client, bob, post)
    assert_problem(client.patch(comment_url(comment), json={"body": "Anon"}), 401)


@pytest.mark.parametrize("changes", [{"body": ""}, {"post_id": 1}, {"author": "alice"}])
def test_an_invalid_comment_edit_is_422(client, post, bob, changes):
    comment = add_comment(client, bob, post, "Unchanged")
    assert_problem(client.patch(comment_url(comment), json=changes, headers=bob), 422)
    assert client.get(comment_url(comment)).get_json()["body"] == "Unchanged"


# --- delete -------------------------------------------------------------------


def test_the_owner_deletes_a_comment(client, post, bob):
    comment = add_comment(client, bob, post)
    response = client.delete(comment_url(comment), headers=bob)
    assert response.status_code == 204
    assert_problem(client.get(comment_url(comment)), 404)
    assert client.get(post_url(post)).get_json()["comments_count"] == 0


@pytest.mark.parametrize("role", ["editor", "admin"])
def test_editors_and_admins_delete_any_comment(client, post, bob, make_user, login, role):
    staff = sign_up(make_user, login, "staff", role=role)
    comment = add_comment(client, bob, post)
    assert client.delete(comment_url(comment), headers=staff).status_code == 204
    assert bodies(client, post) == []


def test_another_author_may_not_delete_a_comment(client, post, alice, bob):
    comment = add_comment(client, bob, post, "Stays")
    assert_problem(client.delete(comment_url(comment), headers=alice), 403)
    assert bodies(client, post) == ["Stays"]


def test_deleting_a_comment_needs_a_token(client, post, bob):
    comment = add_comment(client, bob, post, "Stays")
    assert_problem(client.delete(comment_url(comment)), 401)
    assert bodies(client, post) == ["Stays"]


def test_deleting_an_unknown_comment_is_404(client, bob):
    assert_problem(client.delete(f"{API}/comments/424242", headers=bob), 404)
