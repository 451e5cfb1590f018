"""A post deleted by another request while this one writes to it: never a 500.

Helper C's randomized concurrency test found the windows; these tests open
each one on purpose, by deleting the post from a second connection at the
seam. Deleted after the write committed, the write's answer is what it
committed (it is read in the write's own transaction, before the commit).
Deleted between the read and the favourite's insert (PostgreSQL: on SQLite
the request holds the write lock from its first statement, so no one can
delete there), the answer is 404 and the favourite is not written.
"""

import pytest
from sqlalchemy import delete, func, select

from app.extensions import db as _db
from app.models import Favorite, Post
from app.services import posts as post_service
from tests.conduit_helpers import signed_up, write_article
from tests.content_helpers import API, publish


def delete_from_another_connection(post_id):
    """Delete the post and commit, on a connection that is not the request's."""
    with _db.engine.begin() as connection:
        connection.execute(delete(Post).where(Post.id == post_id))


@pytest.fixture
def delete_after_commit(monkeypatch):
    """After the request's commit, the post (by id) is deleted by someone else."""

    def arm(post_id):
        session_commit = _db.session.commit

        def commit_then_vanish():
            session_commit()
            delete_from_another_connection(post_id)

        monkeypatch.setattr(_db.session, "commit", commit_then_vanish)

    return arm


def favourites(app):
    with app.app_context():
        return _db.session.scalar(select(func.count()).select_from(Favorite))


def post_id_of_slug(app, slug):
    with app.app_context():
        return _db.session.scalar(select(Post.id).where(Post.slug == slug))


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("patch", "", {"title": "Edited"}),
        ("post", "/favorite", None),
        ("delete", "/favorite", None),
    ],
)
def test_api_write_answers_what_it_committed_when_the_post_goes_next(
    client, alice, delete_after_commit, method, suffix, body
):
    post = publish(client, alice)
    delete_after_commit(post["id"])
    response = getattr(client, method)(
        f"{API}/posts/{post['id']}{suffix}", json=body, headers=alice
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["id"] == post["id"]
    assert client.get(f"{API}/posts/{post['id']}").status_code == 404


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("put", "", {"article": {"body": "Edited."}}),
        ("post", "/favorite", None),
        ("delete", "/favorite", None),
    ],
)
def test_conduit_write_answers_what_it_committed_when_the_article_goes_next(
    app, client, delete_after_commit, method, suffix, body
):
    headers = signed_up(client, "ann")
    slug = write_article(client, headers)["slug"]
    delete_after_commit(post_id_of_slug(app, slug))
    response = getattr(client, method)(f"/api/articles/{slug}{suffix}", json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["article"]["slug"] == slug


def test_conduit_create_answers_what_it_committed_when_the_article_goes_next(
    app, client, monkeypatch
):
    headers = signed_up(client, "ann")
    session_commit = _db.session.commit

    def commit_then_vanish():
        session_commit()
        with _db.engine.begin() as connection:
            connection.execute(delete(Post))

    monkeypatch.setattr(_db.session, "commit", commit_then_vanish)
    article = {"title": "Gone soon", "description": "d", "body": "b"}
    response = client.post("/api/articles", json={"article": article}, headers=headers)
    assert response.status_code == 201, response.get_json()


@pytest.fixture
def delete_before_favourite(monkeypatch):
    """Just before the favourite's insert, the post is deleted by someone else."""
    favorite = post_service.favorite

    def vanish_then_favorite(user, post):
        delete_from_another_connection(post.id)
        return favorite(user, post)

    monkeypatch.setattr(post_service, "favorite", vanish_then_favorite)


@pytest.mark.postgres
def test_api_favourite_of_a_post_deleted_meanwhile_is_404_and_writes_nothing(
    app, client, alice, bob, delete_before_favourite
):
    post = publish(client, alice)
    response = client.post(f"{API}/posts/{post['id']}/favorite", headers=bob)
    assert response.status_code == 404, response.get_json()
    assert favourites(app) == 0


@pytest.mark.postgres
def test_conduit_favourite_of_an_article_deleted_meanwhile_is_404_and_writes_nothing(
    app, client, delete_before_favourite
):
    slug = write_article(client, signed_up(client, "ann"))["slug"]
    response = client.post(f"/api/articles/{slug}/favorite", headers=signed_up(client, "bob"))
    assert response.status_code == 404, response.get_json()
    assert favourites(app) == 0
