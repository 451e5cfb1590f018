"""Page anchors (app/services/page_anchors.py) give exactly the pages OFFSET gives.

With a stride of 5, a list of 23 published posts has anchors at rows 5, 10, 15
and 20. Every page of every size, in both directions of both stable sorts, must
hold the same posts as the same slice of the full list, before and after the
list changes (a post published, one deleted, one unpublished): the anchors
must follow the counter's revision, never serve a list that has moved.
PostgreSQL only: SQLite has no revision, so it pages by OFFSET.
"""

import pytest

from app.services import page_anchors
from tests.content_helpers import API, create_post, post_url, publish
from tests.sql_helpers import engine_events, sent_statements

pytestmark = pytest.mark.postgres

STRIDE = 5


@pytest.fixture
def app(make_app):
    """Hundreds of page requests: not what the rate limit is for."""
    return make_app(RATELIMIT_ENABLED=False)


@pytest.fixture(autouse=True)
def small_stride(monkeypatch):
    """Anchors every 5 rows, used from the first one on (not from MIN_OFFSET's 5,000)."""
    monkeypatch.setattr(page_anchors, "STRIDE", STRIDE)
    monkeypatch.setattr(page_anchors, "MIN_OFFSET", STRIDE)


@pytest.fixture
def listed(client, alice):
    for i in range(23):
        publish(client, alice, title=f"Post {i:02}")
    create_post(client, alice, title="A draft")  # not in the list


def full_list(client, sort):
    """Every published post in this order, by cursor walk (keyset, no anchors)."""
    ids, cursor = [], ""
    while cursor is not None:
        body = client.get(f"{API}/posts?per_page=100&sort={sort}&cursor={cursor}").get_json()
        ids += [item["id"] for item in body["items"]]
        cursor = body["meta"]["next_cursor"]
    return ids


def page(client, sort, number, per_page):
    response = client.get(f"{API}/posts?sort={sort}&page={number}&per_page={per_page}")
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def assert_pages_match_offsets(client):
    for sort in ("-published_at", "published_at", "-created_at", "created_at"):
        expected = full_list(client, sort)
        for per_page in (1, 4, 7):
            pages = -(-len(expected) // per_page) + 1  # and one past the end
            for number in range(1, pages + 1):
                start = (number - 1) * per_page
                want = expected[start : start + per_page]
                assert page(client, sort, number, per_page) == want, (sort, per_page, number)


def test_every_page_matches_the_offset_slice(client, listed):
    assert_pages_match_offsets(client)


def test_pages_follow_the_list_when_it_changes(client, alice, listed):
    assert_pages_match_offsets(client)  # anchors built
    publish(client, alice, title="Newest")
    assert_pages_match_offsets(client)
    oldest = full_list(client, "published_at")[0]
    assert client.delete(f"{API}/posts/{oldest}", headers=alice).status_code == 204
    assert_pages_match_offsets(client)
    middle = full_list(client, "published_at")[11]
    unpublished = client.patch(post_url({"id": middle}), json={"status": "draft"}, headers=alice)
    assert unpublished.status_code == 200
    assert_pages_match_offsets(client)


def test_deep_pages_seek_from_an_anchor(app, client, listed):
    """The page past the fourth anchor skips only what lies beyond it."""
    with engine_events(app, "before_cursor_execute") as calls:
        page(client, "-published_at", 8, 3)  # rows 21 to 23: anchor 20, then skip 1
    seen = [s for s in sent_statements(calls) if "OFFSET" in s or "LIMIT" in s]
    assert any("OFFSET 1" in statement for statement in seen), seen
    assert not any("OFFSET 21" in statement for statement in seen), seen
