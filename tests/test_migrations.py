"""Migrations are the only way the schema is made: prove they build what the models say.

Each database kind gets an empty database: upgrade to head, downgrade to
base, upgrade again, then Alembic's own comparison must find no difference
between the migrated schema and the models.
"""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import Column, Integer, Table, inspect, text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from app.migration_check import scratch_database
from app.models import COUNTING_TRIGGERS
from app.models.base import include_in_autogenerate
from app.models.list_changes import POSTGRES_TRIGGERS, SQLITE_TRIGGERS
from config import BASE_DIR
from tests.conftest import POSTGRES_URL, dispose_engines

MIGRATIONS = str(BASE_DIR / "migrations")


@pytest.fixture
def empty_sqlite():
    with scratch_database(make_url("sqlite:///unused.db")) as url:
        yield url


@pytest.fixture
def empty_postgres():
    with scratch_database(make_url(POSTGRES_URL)) as url:
        yield url


def assert_migrations_match_models(url):
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    try:
        with app.app_context():
            upgrade(directory=MIGRATIONS)
            downgrade(directory=MIGRATIONS, revision="base")
            assert inspect(db.engine).get_table_names() == ["alembic_version"]
            upgrade(directory=MIGRATIONS)
            with db.engine.connect() as connection:
                options = {"compare_type": True, "include_object": include_in_autogenerate}
                context = MigrationContext.configure(connection, opts=options)
                assert compare_metadata(context, db.metadata) == []
            assert set(inspect(db.engine).get_table_names()) == set(db.metadata.tables) | {
                "alembic_version"
            }
            assert_hand_managed_indexes_exist()
    finally:
        dispose_engines(app)


def assert_hand_managed_indexes_exist():
    """Columns and indexes skipped by the comparison must still be made by the migrations."""
    if db.engine.dialect.name != "postgresql":
        return
    assert_search_vector_exists(db.engine)


def assert_search_vector_exists(engine):
    """PostgreSQL: the stored search document, generated from the row, and its GIN index."""
    inspector = inspect(engine)
    columns = {column["name"]: column for column in inspector.get_columns("posts")}
    assert "to_tsvector" in columns["search_vector"]["computed"]["sqltext"]
    assert columns["search_vector"]["computed"].get("persisted") is True
    indexes = {index["name"]: index for index in inspector.get_indexes("posts")}
    assert indexes["ix_posts_search"]["column_names"] == ["search_vector"]


def test_migrations_build_the_model_schema_on_sqlite(empty_sqlite):
    assert_migrations_match_models(empty_sqlite)


@pytest.mark.postgres
def test_migrations_build_the_model_schema_on_postgres(empty_postgres):
    assert_migrations_match_models(empty_postgres)


def test_case_insensitive_uniqueness_survives_the_migration(empty_sqlite):
    """Expression indexes are written by hand; check they exist and bite."""
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=empty_sqlite)
    try:
        with app.app_context():
            upgrade(directory=MIGRATIONS)
            insert = text(
                "INSERT INTO users (username, email, password_hash, created_at, updated_at) "
                "VALUES (:u, :e, 'x', '2026-01-01', '2026-01-01')"
            )
            with db.engine.begin() as connection:
                connection.execute(insert, {"u": "Alice", "e": "alice@example.com"})
            with pytest.raises(Exception, match="UNIQUE"), db.engine.begin() as connection:
                connection.execute(insert, {"u": "alice", "e": "other@example.com"})
    finally:
        dispose_engines(app)


def counting_objects(engine):
    """{name: definition} of every trigger, and on PostgreSQL of every function, as
    the database itself prints them."""
    if engine.dialect.name == "postgresql":
        listed = (
            "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal "
            "UNION ALL SELECT proname, pg_get_functiondef(oid) FROM pg_proc "
            "WHERE pronamespace = 'public'::regnamespace"
        )
    else:
        listed = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
    with engine.connect() as connection:
        return dict(connection.execute(text(listed)).all())


def list_version_triggers(kind):
    return POSTGRES_TRIGGERS if kind == "postgres" else SQLITE_TRIGGERS


# The revision before the counts' triggers: later migrations stack on top of them.
BEFORE_TRIGGERS = "e3223bdcb305"


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_migrations_make_the_models_counting_triggers(kind):
    """Alembic compares no triggers: the migrations' frozen copies must equal what the
    models make (models/counting.py, models/list_changes.py), and their downgrades
    must take all of it away."""
    url = make_url(POSTGRES_URL if kind == "postgres" else "sqlite:///unused.db")
    with scratch_database(url) as migrated_url, scratch_database(url) as created_url:
        migrated = create_app("testing", SQLALCHEMY_DATABASE_URI=migrated_url)
        created = create_app("testing", SQLALCHEMY_DATABASE_URI=created_url)
        try:
            with created.app_context():
                db.create_all()
                expected = counting_objects(db.engine)
            assert set(COUNTING_TRIGGERS) <= set(expected)
            assert set(list_version_triggers(kind)) <= set(expected)
            with migrated.app_context():
                upgrade(directory=MIGRATIONS)
                assert counting_objects(db.engine) == expected
                downgrade(directory=MIGRATIONS, revision=BEFORE_TRIGGERS)
                assert counting_objects(db.engine) == {}
        finally:
            dispose_engines(migrated)
            dispose_engines(created)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_trigger_migration_recounts_existing_rows(kind):
    """Counts left wrong before the upgrade are exact after it, and writes after it move them."""
    url = make_url(POSTGRES_URL if kind == "postgres" else "sqlite:///unused.db")
    rows = (
        "INSERT INTO users (id, username, email, password_hash, created_at, updated_at) "
        "VALUES (1, 'alice', 'alice@example.com', 'x', '2026-01-01', '2026-01-01')",
        "INSERT INTO tags (id, name, published_posts_count) VALUES (1, 'python', 5), (2, 'web', 0)",
        "INSERT INTO posts (id, slug, title, body, status, author_id, version, created_at, "
        "updated_at) VALUES (1, 'a', 'A', 'B', 'published', 1, 1, '2026-01-01', '2026-01-01'), "
        "(2, 'b', 'B', 'B', 'draft', 1, 1, '2026-01-01', '2026-01-01')",
        "INSERT INTO post_tags (post_id, tag_id) VALUES (1, 1), (1, 2), (2, 1)",
        "UPDATE counters SET value = 9",
    )
    counts = "SELECT name, published_posts_count FROM tags ORDER BY id"
    total = "SELECT value FROM counters WHERE name = 'published_posts'"
    with scratch_database(url) as migrated_url:
        app = create_app("testing", SQLALCHEMY_DATABASE_URI=migrated_url)
        try:
            with app.app_context():
                upgrade(directory=MIGRATIONS, revision=BEFORE_TRIGGERS)
                with db.engine.begin() as connection:
                    for statement in rows:
                        connection.execute(text(statement))
                upgrade(directory=MIGRATIONS)
                with db.engine.begin() as connection:
                    assert connection.execute(text(counts)).all() == [("python", 1), ("web", 1)]
                    assert connection.scalar(text(total)) == 1
                    connection.execute(text("UPDATE posts SET status = 'published' WHERE id = 2"))
                    assert connection.execute(text(counts)).all() == [("python", 2), ("web", 1)]
                    assert connection.scalar(text(total)) == 2
        finally:
            dispose_engines(app)


@pytest.mark.postgres
def test_the_test_schema_has_the_stored_search_vector(app):
    """create_all (the test schema) makes it too, through the model's after_create DDL."""
    with app.app_context():
        assert_search_vector_exists(db.engine)


def run_check(app):
    return app.test_cli_runner().invoke(args=["db", "check", "-d", MIGRATIONS])


def has_alembic_version(app):
    with app.app_context():
        return "alembic_version" in inspect(db.engine).get_table_names()


def test_db_check_answers_for_a_database_not_at_head(app):
    """Alembic's own check refuses ("Target database is not up to date"); this one
    builds a scratch database from the migrations and leaves the configured one be."""
    assert not has_alembic_version(app)  # the tests' schema is made without migrations
    result = run_check(app)
    assert result.exit_code == 0, result.output
    assert not has_alembic_version(app)


def test_db_check_fails_when_the_models_and_migrations_differ(app):
    unmigrated = Table("not_in_any_migration", db.metadata, Column("id", Integer, primary_key=True))
    try:
        result = run_check(app)
    finally:
        db.metadata.remove(unmigrated)
    assert result.exit_code == 1
    assert "not_in_any_migration" in result.output + str(result.exception)
