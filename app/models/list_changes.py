"""The list version: one number that moves whenever any list's content may have.

Conditional lists (app/core/conditional.py `conditional_list`) answer
If-None-Match with 304 without running the list's query: they compare the
client's tag with one built from this number (the `counters` row
'list_version') and the request. So every write that can change what a list
shows bumps it, whatever made the write (the services, Conduit, the seeder,
raw SQL): triggers on posts, post_tags, tags, categories, comments, favorites,
follows and users. It only ever grows, so a tag once stale never matches again.

Why one number for every list and not one per list: a post's edit changes the
post lists, its author's lists, the feed of every follower and Conduit's; a
favourite changes counts and viewer flags in all of them. One number is exact
about "nothing changed" and costs one primary-key read; the price is that a
write anywhere makes every list's next request a 200, which is what a busy
site's lists would be anyway.

Correctness: the number is updated in the writer's own transaction, so it
becomes visible exactly when the write does. The reader reads it *before* the
list, so a body is never older than the version in its tag (a write that lands
in between gives the old version with the new body: one needless 200 later,
never a stale 304).

PostgreSQL: the triggers are deferred constraint triggers, fired at commit,
and the function bumps once per transaction (a transaction-local setting
remembers it). At commit the transaction holds every other lock it will take,
so waiting for the counter row there cannot deadlock, and the row is held only
for the commit itself: writers of comments or favourites do not queue behind a
long transaction. SQLite: one writer at a time, a plain trigger per statement
kind.

The migration that installs these (migrations/versions/*_list_version_kept_by_triggers.py)
carries a frozen copy; tests/test_migrations.py checks the two agree.
"""

from sqlalchemy import DDL, event

from app.models.base import Model

# Every table whose rows a list shows (or filters or counts by).
LISTED_TABLES = (
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

POSTGRES_TRIGGER_DDL = tuple(
    f"CREATE CONSTRAINT TRIGGER {table}_list_version "
    f"AFTER INSERT OR UPDATE OR DELETE ON {table} "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_list_version()"
    for table in LISTED_TABLES
)
POSTGRES_DDL = (POSTGRES_FUNCTION, *POSTGRES_TRIGGER_DDL)

# Dropping the tables drops their triggers; the function outlives them.
POSTGRES_DROP = ("DROP FUNCTION IF EXISTS bump_list_version() CASCADE",)

SQLITE_OPERATIONS = {"inserted": "INSERT", "updated": "UPDATE", "deleted": "DELETE"}

SQLITE_DDL = tuple(
    f"CREATE TRIGGER {table}_list_version_{name} AFTER {operation} ON {table} "
    "BEGIN UPDATE counters SET value = value + 1 WHERE name = 'list_version'; END"
    for table in LISTED_TABLES
    for name, operation in SQLITE_OPERATIONS.items()
)

# Every trigger, by name, per database: tests check the migrations make them.
POSTGRES_TRIGGERS = tuple(f"{table}_list_version" for table in LISTED_TABLES)
SQLITE_TRIGGERS = tuple(
    f"{table}_list_version_{name}" for table in LISTED_TABLES for name in SQLITE_OPERATIONS
)

for statement in POSTGRES_DDL:
    event.listen(Model.metadata, "after_create", DDL(statement).execute_if(dialect="postgresql"))
for statement in SQLITE_DDL:
    event.listen(Model.metadata, "after_create", DDL(statement).execute_if(dialect="sqlite"))
for statement in POSTGRES_DROP:
    event.listen(Model.metadata, "after_drop", DDL(statement).execute_if(dialect="postgresql"))
