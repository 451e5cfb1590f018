"""The list version kept by triggers.

Conditional lists answer If-None-Match with 304 from one number, the counters
row 'list_version', without running the list's query. Triggers on every table
a list shows bump it in the writer's transaction (deferred to commit, once per
transaction, on PostgreSQL); the design is in app/models/list_changes.py.
Written by hand (Alembic does not compare triggers): the statements below are
a frozen copy of that module's, and tests/test_migrations.py checks the
migrated triggers equal the models' own.

Revision ID: 753a49560381
Revises: c37eabc84ed4
Create Date: 2026-12-05 07:31:14.874906

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '753a49560381'
down_revision = 'c37eabc84ed4'
branch_labels = None
depends_on = None

TABLES = (
    "posts",
    "post_tags",
    "tags",
    "categories",
    "comments",
    "favorites",
    "follows",
    "users",
)

POSTGRES_FUNCTION = """
CREATE FUNCTION bump_list_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('folio.list_version_bumped', true) IS DISTINCT FROM 'on' THEN
        PERFORM set_config('folio.list_version_bumped', 'on', true);
        UPDATE counters SET value = value + 1 WHERE name = 'list_version';
    END IF;
    RETURN NULL;
END $$
"""

POSTGRES = (POSTGRES_FUNCTION,) + tuple(
    f"CREATE CONSTRAINT TRIGGER {table}_list_version "
    f"AFTER INSERT OR UPDATE OR DELETE ON {table} "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_list_version()"
    for table in TABLES
)

SQLITE_OPERATIONS = {"inserted": "INSERT", "updated": "UPDATE", "deleted": "DELETE"}

SQLITE = tuple(
    f"CREATE TRIGGER {table}_list_version_{name} AFTER {operation} ON {table} "
    "BEGIN UPDATE counters SET value = value + 1 WHERE name = 'list_version'; END"
    for table in TABLES
    for name, operation in SQLITE_OPERATIONS.items()
)


def upgrade():
    postgres = op.get_bind().dialect.name == 'postgresql'
    op.execute("INSERT INTO counters (name, value) VALUES ('list_version', 0)")
    for statement in POSTGRES if postgres else SQLITE:
        op.execute(statement)


def downgrade():
    postgres = op.get_bind().dialect.name == 'postgresql'
    if postgres:
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_list_version ON {table}")
        op.execute("DROP FUNCTION bump_list_version()")
    else:
        for table in TABLES:
            for name in SQLITE_OPERATIONS:
                op.execute(f"DROP TRIGGER {table}_list_version_{name}")
    op.execute("DELETE FROM counters WHERE name = 'list_version'")
