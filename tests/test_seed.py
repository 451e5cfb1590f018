"""`flask seed`: realistic data, the same for the same seed, only into an empty database."""

from sqlalchemy import func, select

from app.extensions import db
from app.models import Comment, Favorite, Follow, Post, User
from app.services.seeding import SEED_PASSWORD

SMALL = ["seed", "--users", "5", "--posts", "40", "--comments", "30", "--follows", "8"]


def seed(app, *extra):
    return app.test_cli_runner().invoke(args=[*SMALL, *extra])


def counts(app):
    with app.app_context():
        return {
            model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (User, Post, Comment, Follow, Favorite)
        }


def posts_snapshot(app):
    with app.app_context():
        query = select(Post.id, Post.title, Post.status, Post.published_at).order_by(Post.id)
        return db.session.execute(query).all()


def test_seed_fills_every_table_with_the_sizes_asked_for(app):
    result = seed(app)
    assert result.exit_code == 0, result.output
    assert counts(app) == {
        "users": 5,
        "posts": 40,
        "comments": 30,
        "follows": 8,
        "favorites": 40,
    }


def test_seeded_posts_are_listed_with_tags_and_a_few_drafts(app, client):
    seed(app, "--posts", "200")
    statuses = {row.status for row in posts_snapshot(app)}
    assert statuses == {"draft", "published"}
    items = client.get("/api/v1/posts?per_page=100").get_json()["items"]
    assert any(item["tags"] for item in items)


def test_the_same_seed_gives_the_same_data(app):
    seed(app, "--seed", "7")
    first = posts_snapshot(app)
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
    seed(app, "--seed", "7")
    assert posts_snapshot(app) == first


def test_seeded_accounts_sign_in_with_the_documented_password(app, client):
    seed(app)
    with app.app_context():
        username = db.session.scalar(select(User.username).where(User.id == 1))
    response = client.post("/auth/login", json={"login": username, "password": SEED_PASSWORD})
    assert response.status_code == 200


def test_seed_refuses_a_database_with_users(app, make_user):
    make_user("alice")
    result = seed(app)
    assert result.exit_code != 0
    assert "already has users" in result.output


def test_seed_if_empty_leaves_an_existing_database_alone(app, make_user):
    make_user("alice")
    result = seed(app, "--if-empty")
    assert result.exit_code == 0
    assert counts(app)["posts"] == 0
