"""Maintained counts stay what counting the tables gives.

The database's triggers keep them (models/counting.py); services/counters.py
reads them. Every test checks the stored count of each tag against a fresh
count over post_tags and posts, after writes through the HTTP API (Folio's and
Conduit's), after SQL that no service sees, and under concurrent writers
(a randomized mix in test_counters_concurrency.py).
"""

import re
from collections import Counter as Tally
from datetime import UTC, datetime
from itertools import zip_longest

import pytest
from sqlalchemy import delete, insert, select, text

from app.extensions import db
from app.models import Counter, Post, Tag, post_tags
from app.services import counters
from tests.conduit_helpers import signed_up, write_article
from tests.content_helpers import API, create_post, post_url, publish
from tests.sql_helpers import engine_events, sent_statements
from tests.test_races import run_concurrently


def stored_and_counted(app):
    """{tag name: (maintained count, count from the tables)} for every tag."""
    with app.app_context():
        counted = counters.tag_counts_from_tables()
        rows = db.session.execute(select(Tag.id, Tag.name, Tag.published_posts_count)).all()
        return {name: (stored, counted.get(tag_id, 0)) for tag_id, name, stored in rows}


def assert_exact(app, published=None, **expected):
    """Every maintained count equals the recount; `published` and `expected` (tag
    names) give some of the values too."""
    with app.app_context():
        stored = counters.published_list_state().total
        assert stored == db.session.scalar(counters.published_posts_from_tables())
    if published is not None:
        assert stored == published
    counts = stored_and_counted(app)
    assert {name: stored for name, (stored, _) in counts.items()} == {
        name: counted for name, (_, counted) in counts.items()
    }
    for name, count in expected.items():
        assert counts[name][0] == count, name


def patch(client, headers, post, **changes):
    response = client.patch(post_url(post), json=changes, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_creating_counts_published_posts_only(app, client, alice):
    publish(client, alice, tags=["python", "flask"])
    create_post(client, alice, tags=["python", "secret"])
    assert_exact(app, published=1, python=1, flask=1, secret=0)


def test_publishing_and_unpublishing_move_the_counts(app, client, alice):
    post = create_post(client, alice, tags=["python"])
    patch(client, alice, post, status="published")
    assert_exact(app, published=1, python=1)
    patch(client, alice, post, status="draft")
    assert_exact(app, published=0, python=0)
    patch(client, alice, post, status="published", tags=["rust"])
    assert_exact(app, published=1, python=0, rust=1)


def test_retagging_a_published_post_moves_only_the_changed_tags(app, client, alice):
    post = publish(client, alice, tags=["python", "flask"])
    publish(client, alice, tags=["python"])
    patch(client, alice, post, tags=["flask", "web"])
    assert_exact(app, python=1, flask=1, web=1)
    patch(client, alice, post, title="Other title")  # tags untouched
    assert_exact(app, python=1, flask=1, web=1)
    patch(client, alice, post, tags=[])
    assert_exact(app, python=1, flask=0, web=0)


def test_retagging_a_draft_changes_no_count(app, client, alice):
    post = create_post(client, alice, tags=["python"])
    patch(client, alice, post, tags=["flask"])
    assert_exact(app, python=0, flask=0)


def test_deleting_takes_a_published_post_out_of_the_counts(app, client, alice):
    kept = publish(client, alice, tags=["python"])
    gone = publish(client, alice, tags=["python", "gone"])
    draft = create_post(client, alice, tags=["python"])
    for post in (gone, draft):
        assert client.delete(post_url(post), headers=alice).status_code == 204
    assert_exact(app, published=1, python=1, gone=0)
    assert client.get(f"{API}/tags").get_json()["items"] == [{"name": "python", "posts_count": 1}]
    assert client.delete(post_url(kept), headers=alice).status_code == 204
    assert_exact(app, python=0)
    assert client.get(f"{API}/tags").get_json()["items"] == []


def test_conduit_writes_keep_the_counts(app, client):
    headers = signed_up(client, "writer")
    slug = write_article(client, headers, tagList=["a", "b"])["slug"]
    assert_exact(app, a=1, b=1)
    update = {"article": {"tagList": ["b", "c"]}}
    assert client.put(f"/api/articles/{slug}", json=update, headers=headers).status_code == 200
    assert_exact(app, a=0, b=1, c=1)
    assert client.delete(f"/api/articles/{slug}", headers=headers).status_code == 204
    assert_exact(app, a=0, b=0, c=0)


def test_concurrent_creates_lose_no_count(app, client, alice):
    tag_sets = [["python", "flask"], ["flask", "python"], ["python"], ["web", "python"]] * 2
    requests = [
        (
            "post",
            f"{API}/posts",
            {
                "json": {"title": "Race", "body": "B", "status": "published", "tags": tags},
                "headers": alice,
            },
        )
        for tags in tag_sets
    ]
    statuses = [response.status_code for response in run_concurrently(app, requests)]
    assert statuses == [201] * len(requests)
    assert_exact(app, published=8, python=8, flask=4, web=2)


def test_concurrent_publish_and_retag_lose_no_count(app, client, alice):
    drafts = [create_post(client, alice, tags=["python", "flask"]) for _ in range(4)]
    changes = [{"status": "published"}, {"status": "published", "tags": ["flask", "web"]}] * 2
    requests = [
        ("patch", post_url(post), {"json": change, "headers": alice})
        for post, change in zip(drafts, changes, strict=True)
    ]
    statuses = [response.status_code for response in run_concurrently(app, requests)]
    assert statuses == [200] * len(requests)
    assert_exact(app, published=4, python=2, flask=4, web=2)


def tag_tally(published, names):
    """{tag name: number of published posts carrying it} for `names`, from
    {post id: tag names} of the published posts."""
    tally = Tally(tag for tags in published.values() for tag in tags)
    return {name: tally[name] for name in names}


def test_mixed_concurrent_writers_keep_exact_counts(app, client, alice, bob):
    """Creates, deletes, unpublishes and publishes at once, on overlapping tags: the
    counts equal a recount and what the operations add up to. Each kind of write
    moves the counts by a different amount, so losing any kind's adjustment shows."""
    doomed = [
        publish(client, alice, tags=tags)
        for tags in (["python"], ["flask", "web"], ["rust"], ["python", "web"])
    ]
    withdrawn = [publish(client, bob, tags=t) for t in (["flask", "python"], ["web"], ["rust"])]
    drafts = [
        create_post(client, alice, tags=tags)
        for tags in (["web", "rust"], ["python", "web"], ["flask", "web"], ["python", "rust"])
    ]
    kept = publish(client, bob, tags=["python", "web"])
    create_post(client, bob, tags=["web"])  # a draft nobody touches
    names = ("python", "flask", "web", "rust")
    published = {post["id"]: post["tags"] for post in (*doomed, *withdrawn, kept)}
    assert_exact(app, published=8, **tag_tally(published, names))

    to_create = [["python", "flask"], ["web"], ["python", "rust"], ["flask"], ["python", "flask"]]
    new_post = {"title": "Race", "body": "B", "status": "published"}
    writes = {
        "create": [
            (
                "post",
                f"{API}/posts",
                {"json": {**new_post, "tags": tags}, "headers": (alice, bob)[i % 2]},
            )
            for i, tags in enumerate(to_create)
        ],
        "delete": [("delete", post_url(post), {"headers": alice}) for post in doomed],
        "unpublish": [
            ("patch", post_url(post), {"json": {"status": "draft"}, "headers": bob})
            for post in withdrawn
        ],
        "publish": [
            ("patch", post_url(post), {"json": {"status": "published"}, "headers": alice})
            for post in drafts
        ],
    }
    # Interleaved, so each kind of writer starts among the others: 16 writers at once.
    labelled = [[(kind, request) for request in requests] for kind, requests in writes.items()]
    order = [pair for turn in zip_longest(*labelled) for pair in turn if pair is not None]
    responses = run_concurrently(app, [request for _, request in order])
    expected_status = {"create": 201, "delete": 204, "unpublish": 200, "publish": 200}
    assert [r.status_code for r in responses] == [expected_status[k] for k, _ in order], [
        r.get_json() for r in responses
    ]

    for post in (*doomed, *withdrawn):
        del published[post["id"]]
    for (kind, _), response in zip(order, responses, strict=True):
        if kind in ("create", "publish"):
            post = response.get_json()
            assert post["status"] == "published"
            published[post["id"]] = post["tags"]
    assert len(published) == 10  # 8 - 4 deleted - 3 unpublished + 5 created + 4 published
    expected = tag_tally(published, names)
    assert expected == {"python": 6, "flask": 4, "web": 5, "rust": 3}  # from 4, 2, 4, 2
    assert_exact(app, published=10, **expected)


def test_recount_repairs_wrong_counts_and_a_missing_counter(app, client, alice):
    publish(client, alice, tags=["python"])
    create_post(client, alice, tags=["flask"])
    with app.app_context():
        db.session.execute(Tag.__table__.update().values(published_posts_count=42))
        db.session.execute(delete(Counter))
        assert counters.recount() == 3  # the missing counter, python and flask
        db.session.commit()
    assert_exact(app, published=1, python=1, flask=0)


def test_the_recount_command_repairs_counts_changed_by_hand(app, client, alice):
    """Triggers keep the counts, but the counts' own rows can still be edited by hand
    (no trigger watches them): `flask recount` puts them back and says what it fixed."""
    publish(client, alice, tags=["python", "flask"])
    runner = app.test_cli_runner()
    clean = runner.invoke(args=["recount"])
    assert clean.exit_code == 0, clean.output
    assert "every count was already exact" in clean.output
    run_sql(app, "UPDATE tags SET published_posts_count = 42 WHERE name = 'python'")
    run_sql(app, "UPDATE counters SET value = 7")
    repaired = runner.invoke(args=["recount"])
    assert repaired.exit_code == 0, repaired.output
    assert "corrected 2 counts" in repaired.output
    assert_exact(app, published=1, python=1, flask=1)


# --- writers that know nothing of the counts ---------------------------------------


def run_sql(app, statement, *params):
    """One statement (text, or Core with parameter rows), committed: a writer that
    goes around the services, as a shell, a script or a migration would."""
    with app.app_context():
        if isinstance(statement, str):
            statement = text(statement)
        db.session.execute(statement, *params)
        db.session.commit()


def tag_ids(app):
    with app.app_context():
        return dict(db.session.execute(select(Tag.name, Tag.id)).all())


def test_raw_sql_writes_keep_the_counts(app, client, alice):
    """Each kind of row change moves the counts, whoever makes it."""
    draft = create_post(client, alice, tags=["python"])["id"]
    other = publish(client, alice, tags=["python", "flask"])["id"]
    create_post(client, alice, tags=["rust"])  # makes the tag; stays a draft
    ids = tag_ids(app)
    assert_exact(app, published=1, python=1, flask=1)

    run_sql(app, "UPDATE posts SET status = 'published' WHERE id = :id", {"id": draft})
    assert_exact(app, published=2, python=2, flask=1)
    link = "INSERT INTO post_tags (post_id, tag_id) VALUES (:post, :tag)"
    run_sql(app, link, {"post": draft, "tag": ids["flask"]})
    assert_exact(app, published=2, python=2, flask=2)
    moved = "UPDATE post_tags SET tag_id = :new WHERE post_id = :post AND tag_id = :old"
    run_sql(app, moved, {"post": draft, "old": ids["python"], "new": ids["rust"]})
    assert_exact(app, published=2, python=1, flask=2, rust=1)
    unlink = "DELETE FROM post_tags WHERE post_id = :post AND tag_id = :tag"
    run_sql(app, unlink, {"post": other, "tag": ids["flask"]})
    assert_exact(app, published=2, python=1, flask=1, rust=1)
    edit = "UPDATE posts SET title = 'Edited', status = 'published' WHERE id = :id"
    run_sql(app, edit, {"id": other})  # published stays published: nothing moves
    assert_exact(app, published=2, python=1, flask=1, rust=1)
    run_sql(app, "UPDATE posts SET status = 'draft' WHERE id = :id", {"id": other})
    assert_exact(app, published=1, python=0, flask=1, rust=1)
    run_sql(app, "DELETE FROM posts WHERE id = :id", {"id": draft})  # its links cascade
    assert_exact(app, published=0, python=0, flask=0, rust=0)
    run_sql(app, "DELETE FROM posts WHERE id = :id", {"id": other})  # a draft: nothing moves
    assert_exact(app, published=0, python=0, flask=0, rust=0)


def test_a_bulk_load_is_counted_without_a_recount(app, client, alice):
    """Many rows in one statement (the seeder's way): PostgreSQL counts them per
    statement, SQLite per row; both end exact."""
    author = publish(client, alice, tags=["python"])["author"]["id"]
    ids = tag_ids(app)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {
            "slug": f"bulk-{i}",
            "title": "Bulk",
            "body": "B",
            "status": "published" if i % 3 else "draft",
            "author_id": author,
            "created_at": now,
            "updated_at": now,
            "published_at": now if i % 3 else None,
        }
        for i in range(30)
    ]
    run_sql(app, insert(Post.__table__), rows)
    assert_exact(app, published=21, python=1)
    with app.app_context():
        bulk = db.session.scalars(select(Post.id).where(Post.slug.like("bulk-%"))).all()
    links = [{"post_id": post, "tag_id": ids["python"]} for post in bulk]
    run_sql(app, insert(post_tags), links)
    assert_exact(app, published=21, python=21)
    run_sql(app, "DELETE FROM posts WHERE slug LIKE 'bulk-%'")
    assert_exact(app, published=1, python=1)


def counter_revision(app):
    with app.app_context():
        return counters.published_list_state().revision


@pytest.mark.postgres
def test_the_revision_moves_when_the_list_does_and_only_then(app, client, alice):
    """Page anchors trust the counter row's xmin: it must change when a published post
    joins or leaves the list, and stay when one is retagged or edited."""
    post = publish(client, alice, tags=["python"])
    draft = create_post(client, alice, tags=["python"])
    revision = counter_revision(app)
    patch(client, alice, post, tags=["flask", "web"], title="Edited")
    patch(client, alice, draft, tags=["rust"])
    assert counter_revision(app) == revision
    for change in ({"status": "published"}, {"status": "draft"}):
        patch(client, alice, draft, **change)
        assert counter_revision(app) != revision
        revision = counter_revision(app)
    assert client.delete(post_url(post), headers=alice).status_code == 204
    assert counter_revision(app) != revision


# --- page mode's total ------------------------------------------------------------


def statements_sent(app, client, path):
    with engine_events(app, "before_cursor_execute") as calls:
        response = client.get(path)
    assert response.status_code == 200, response.get_json()
    return response.get_json(), sent_statements(calls)


def counts_posts(statements):
    """Whether the list's rows were counted: a count(*) over their ids
    (pagination.counting), in a statement of its own or in the page's."""
    return any(COUNT_OVER_IDS.search(statement) for statement in statements)


def reads_the_counter(statements):
    return any("FROM counters" in statement for statement in statements)


COUNT_OVER_IDS = re.compile(r"count\(\*\)[^()]*FROM \(SELECT posts\.id")


def list_statements(statements):
    """The statements that read the list (not SQLite's BEGIN, nor the list version
    conditional lists read first)."""
    return [
        statement
        for statement in statements
        if statement.startswith("SELECT") and "counters.name" not in statement.split("FROM")[-1]
    ]


def test_page_mode_reads_the_unfiltered_total_from_the_counter(app, client, alice):
    for _ in range(3):
        publish(client, alice)
    create_post(client, alice)  # a draft: not in the list
    body, statements = statements_sent(app, client, f"{API}/posts?page=1&per_page=2")
    assert body["meta"] == {"page": 1, "per_page": 2, "total": 3, "pages": 2}
    assert not counts_posts(statements)
    # The total comes with the page: one statement, one snapshot.
    assert len(list_statements(statements)) == 1
    assert reads_the_counter(statements)


def test_filtered_lists_keep_counting(app, client, alice, bob):
    publish(client, alice, tags=["python"])
    publish(client, alice)
    publish(client, bob, tags=["python"])
    for query, total in (("tag=python", 2), ("author=alice", 2), ("author=bob&tag=python", 1)):
        body, statements = statements_sent(app, client, f"{API}/posts?page=1&{query}")
        assert body["meta"]["total"] == total, query
        assert counts_posts(statements), query
        assert len(list_statements(statements)) == 1, query
        assert len(body["items"]) == total, query


def test_past_the_last_page_the_total_is_counted_alone(app, client, alice):
    """An empty page has no row to carry the total: it is read in a second statement."""
    publish(client, alice, tags=["python"])
    publish(client, alice)
    for query, total in (("", 2), ("&tag=python", 1)):
        body, statements = statements_sent(app, client, f"{API}/posts?page=5&per_page=1{query}")
        assert body["items"] == []
        assert body["meta"]["total"] == total, query
        assert body["meta"]["pages"] == total, query
        assert len(list_statements(statements)) == 2, query


def test_an_unknown_counter_falls_back_to_counting(app, client, alice):
    publish(client, alice)
    with app.app_context():
        db.session.execute(delete(Counter))
        db.session.commit()
    publish(client, alice)  # a write with no counter row leaves it unknown, not wrong
    body, statements = statements_sent(app, client, f"{API}/posts?page=1")
    assert body["meta"]["total"] == 2
    assert counts_posts(statements)
    body, statements = statements_sent(app, client, "/api/articles?limit=1")
    assert body["articlesCount"] == 2
    assert counts_posts(statements)


def test_conduit_articles_count_comes_from_the_counter_when_unfiltered(app, client):
    headers = signed_up(client, "writer")
    for tags in (["a"], ["a"], ["b"]):
        write_article(client, headers, tagList=tags)
    body, statements = statements_sent(app, client, "/api/articles?limit=1")
    assert body["articlesCount"] == 3
    assert not counts_posts(statements)
    assert reads_the_counter(statements)
    assert len(list_statements(statements)) == 1
    body, statements = statements_sent(app, client, "/api/articles?tag=a")
    assert body["articlesCount"] == 2
    assert counts_posts(statements)
    assert len(list_statements(statements)) == 1
    body, statements = statements_sent(app, client, "/api/articles?tag=a&offset=10")
    assert body == {"articles": [], "articlesCount": 2}
