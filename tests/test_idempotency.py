"""Idempotency-Key on creates: a retried POST replays its answer and creates nothing new."""

from datetime import timedelta

import pytest

from app.core import clock
from tests.content_helpers import (
    API,
    assert_problem,
    create_category,
    get_list,
    post_url,
    publish,
)
from tests.test_races import run_concurrently

POST = {"title": "Retried", "body": "Sent twice over a flaky network.", "status": "published"}


def keyed(headers, key="key-0001"):
    return {**headers, "Idempotency-Key": key}


def published_count(client):
    return get_list(client, f"{API}/posts?page=1")["meta"]["total"]


def create(client, headers, body=POST, path="/posts"):
    return client.post(f"{API}{path}", json=body, headers=headers)


# --- posts --------------------------------------------------------------------


def test_posts_without_a_key_are_created_each_time(client, alice):
    assert create(client, alice).status_code == 201
    assert create(client, alice).status_code == 201
    assert published_count(client) == 2


def test_a_retried_post_replays_the_original_answer(client, alice):
    first = create(client, keyed(alice))
    retry = create(client, keyed(alice))
    assert first.status_code == retry.status_code == 201
    assert retry.get_json() == first.get_json()
    assert retry.headers["Location"] == first.headers["Location"]


def test_a_retried_post_creates_nothing_new(client, alice):
    create(client, keyed(alice))
    create(client, keyed(alice))
    create(client, keyed(alice))
    assert published_count(client) == 1


def test_a_key_reused_with_another_body_is_422(client, alice):
    create(client, keyed(alice))
    response = create(client, keyed(alice), body={**POST, "title": "Something else"})
    assert_problem(response, 422)
    assert published_count(client) == 1


def test_different_keys_create_different_posts(client, alice):
    first = create(client, keyed(alice, "key-a")).get_json()
    second = create(client, keyed(alice, "key-b")).get_json()
    assert first["id"] != second["id"]
    assert published_count(client) == 2


def test_keys_belong_to_one_user(client, alice, bob):
    mine = create(client, keyed(alice))
    theirs = create(client, keyed(bob))
    assert mine.status_code == theirs.status_code == 201
    assert theirs.get_json()["id"] != mine.get_json()["id"]
    assert theirs.get_json()["author"]["username"] == "bob"
    assert published_count(client) == 2


def test_a_retry_a_day_later_still_replays(client, alice, monkeypatch):
    """Keys are kept at least 24 hours: move the clock, not sleep."""
    first = create(client, keyed(alice))
    later = clock.utcnow() + timedelta(hours=23, minutes=59)
    monkeypatch.setattr("app.services.idempotency.utcnow", lambda: later)
    retry = create(client, keyed(alice))
    assert retry.status_code == 201
    assert retry.get_json()["id"] == first.get_json()["id"]
    assert published_count(client) == 1


def test_concurrent_requests_with_one_key_create_one_post(app, client, alice):
    requests = [("post", f"{API}/posts", {"json": POST, "headers": keyed(alice)})] * 4
    results = run_concurrently(app, requests)
    statuses = [r.status_code for r in results]
    assert set(statuses) <= {201, 409}, statuses
    assert 201 in statuses
    assert len({r.get_json()["id"] for r in results if r.status_code == 201}) == 1
    assert published_count(client) == 1


# --- comments and categories ------------------------------------------------------


def test_a_retried_comment_creates_one_comment(client, alice, bob):
    post = publish(client, alice)
    path = f"/posts/{post['id']}/comments"
    first = create(client, keyed(bob), body={"body": "Once"}, path=path)
    retry = create(client, keyed(bob), body={"body": "Once"}, path=path)
    assert first.status_code == retry.status_code == 201
    assert retry.get_json() == first.get_json()
    assert retry.headers["Location"] == first.headers["Location"]
    assert len(get_list(client, f"{post_url(post)}/comments")["items"]) == 1


def test_a_comment_key_reused_with_another_body_is_422(client, alice, bob):
    post = publish(client, alice)
    path = f"/posts/{post['id']}/comments"
    create(client, keyed(bob), body={"body": "Once"}, path=path)
    response = create(client, keyed(bob), body={"body": "Twice"}, path=path)
    assert_problem(response, 422)
    assert len(get_list(client, f"{post_url(post)}/comments")["items"]) == 1


def test_a_retried_category_replays_its_201_instead_of_a_conflict(client, editor):
    body = {"name": "Travel", "description": "Far"}
    first = create(client, keyed(editor), body=body, path="/categories")
    retry = create(client, keyed(editor), body=body, path="/categories")
    assert first.status_code == retry.status_code == 201
    assert retry.get_json() == first.get_json()
    assert retry.headers["Location"] == first.headers["Location"]
    assert len(get_list(client, f"{API}/categories")["items"]) == 1


def test_a_category_without_a_key_is_still_a_conflict_the_second_time(client, editor):
    create_category(client, editor, "Travel")
    assert_problem(create(client, editor, body={"name": "Travel"}, path="/categories"), 409)


def test_a_retry_with_the_same_json_in_another_key_order_replays(client, alice):
    first = client.post(
        f"{API}/posts",
        data='{"title": "Ordered", "body": "Same content"}',
        content_type="application/json",
        headers={**alice, "Idempotency-Key": "order-key"},
    )
    retry = client.post(
        f"{API}/posts",
        data='{ "body":"Same content","title":"Ordered" }',
        content_type="application/json",
        headers={**alice, "Idempotency-Key": "order-key"},
    )
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.get_json()["id"] == first.get_json()["id"]
    assert retry.headers["Idempotent-Replayed"] == "true"


# --- the key itself -------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["", "x" * 256, "two words", "caf\u00e9", "tab\there"],
    ids=["empty", "too-long", "space", "non-ascii", "control"],
)
def test_a_key_outside_the_documented_pattern_is_422_and_creates_nothing(client, alice, key):
    """The spec says 1 to 255 visible ASCII characters (IDEMPOTENCY_KEY_PATTERN)."""
    # latin-1 is what a header's bytes decode to on the server, as they would on the wire.
    response = create(client, keyed(alice, key.encode("latin-1").decode("latin-1")))
    assert_problem(response, 422)
    assert published_count(client) == 0


def test_a_key_of_255_visible_characters_is_accepted(client, alice):
    key = "".join(chr(c) for c in range(0x21, 0x7F)) * 3  # 282 characters
    assert create(client, keyed(alice, key[:255])).status_code == 201
