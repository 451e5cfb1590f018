"""A deep page costs what the first does: PostgreSQL's own plan, not a stopwatch.

Cursor mode must reach any page through the (status, published_at, id) index,
touching about one page of rows; page mode's OFFSET has to walk past every
earlier row. The test runs EXPLAIN ANALYZE on the exact statement a deep
request sent and counts the rows the plan read.
"""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, text

from app.extensions import db
from app.models import Post
from app.services import page_anchors
from tests.sql_helpers import captured_posts_query, rows_read

pytestmark = pytest.mark.postgres

POSTS = 6000  # past page_anchors.MIN_OFFSET, where numbered pages start from anchors
PER_PAGE = 20
PAGE_IDS = "posts_1"  # in page mode, the id subquery's reference to posts (pagination.page_query)


@pytest.fixture
def many_posts(app, make_user):
    author_id = make_user("prolific")
    start = datetime(2020, 1, 1, tzinfo=UTC)
    rows = [
        {
            "slug": f"post-{i}",
            "title": f"Post {i}",
            "body": "Body",
            "status": "published",
            "author_id": author_id,
            "created_at": start + timedelta(hours=i),
            "updated_at": start + timedelta(hours=i),
            "published_at": start + timedelta(hours=i),
        }
        for i in range(POSTS)
    ]
    with app.app_context():
        db.session.execute(insert(Post), rows)  # counted by the database's triggers
        db.session.execute(text("ANALYZE posts"))
        db.session.commit()


def cursor_after(client, pages):
    cursor = ""
    for _ in range(pages):
        meta = client.get(f"/api/v1/posts?per_page={PER_PAGE}&cursor={cursor}").get_json()["meta"]
        cursor = meta["next_cursor"]
    return cursor


def test_a_deep_cursor_page_reads_about_one_page_of_rows(app, client, many_posts):
    first = rows_read(app, *captured_posts_query(app, client, f"/api/v1/posts?per_page={PER_PAGE}"))
    deep_cursor = cursor_after(client, 120)  # page 121, past 2,400 posts
    deep_path = f"/api/v1/posts?per_page={PER_PAGE}&cursor={deep_cursor}"
    deep = rows_read(app, *captured_posts_query(app, client, deep_path))
    assert first <= PER_PAGE + 1
    assert deep <= PER_PAGE + 1


def test_a_deep_numbered_page_walks_past_earlier_rows(app, client, many_posts):
    """The contrast that makes the tests around it meaningful: OFFSET reads what it
    skips (sorted by title, which page anchors do not serve)."""
    path = f"/api/v1/posts?per_page={PER_PAGE}&page=121&sort=title"
    read = rows_read(app, *captured_posts_query(app, client, path), alias=PAGE_IDS)
    assert read >= 120 * PER_PAGE


def test_a_deep_numbered_page_starts_from_an_anchor(app, client, many_posts):
    """Page 271 (offset 5,400) seeks to the anchor at row 5,000 and skips 400 more."""
    assert page_anchors.MIN_OFFSET <= 5400
    client.get(f"/api/v1/posts?per_page={PER_PAGE}&page=260")  # builds the anchors
    path = f"/api/v1/posts?per_page={PER_PAGE}&page=271"
    read = rows_read(app, *captured_posts_query(app, client, path), alias=PAGE_IDS)
    assert read <= 5400 % page_anchors.STRIDE + PER_PAGE


def test_a_numbered_page_short_of_the_anchors_threshold_walks_its_offset(app, client, many_posts):
    """Page 121 (offset 2,400) is below MIN_OFFSET: one OFFSET over ids, no counter read
    first, cheaper there than seeking from an anchor (page_anchors.MIN_OFFSET)."""
    assert page_anchors.MIN_OFFSET > 2400
    path = f"/api/v1/posts?per_page={PER_PAGE}&page=121"
    read = rows_read(app, *captured_posts_query(app, client, path), alias=PAGE_IDS)
    assert read >= 2400
