"""What a request sent to the database, and what PostgreSQL's plan for it read."""

from contextlib import contextmanager

from sqlalchemy import event

from app.extensions import db


@contextmanager
def engine_events(app, name):
    """The arguments of every `name` event (SQLAlchemy's engine events, such as
    "before_cursor_execute" or "rollback") on the app's engine while the block runs."""
    with app.app_context():
        engine = db.engine
    seen = []

    def record(*arguments):
        seen.append(arguments)

    event.listen(engine, name, record)
    try:
        yield seen
    finally:
        event.remove(engine, name, record)


def sent_statements(calls):
    """The SQL text of each "before_cursor_execute" call `engine_events` recorded."""
    return [statement for _conn, _cursor, statement, *_ in calls]


def captured_posts_query(app, client, path, headers=None):
    """The bounded SELECT over posts that serving `path` sent, with its parameters."""
    with engine_events(app, "before_cursor_execute") as calls:
        assert client.get(path, headers=headers).status_code == 200
    return next(
        (statement, parameters)
        for _conn, _cursor, statement, parameters, *_ in calls
        if "\nFROM posts" in statement and "LIMIT" in statement
    )


def rows_read(app, statement, parameters, alias=None):
    """Rows the plan's scans produced, from EXPLAIN ANALYZE (only those of the
    table reference `alias`, when given)."""
    with app.app_context(), db.engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        with raw.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters)
            plan = cursor.fetchone()[0][0]["Plan"]
        raw.rollback()
    return max_rows_in_scans(plan, alias)


def max_rows_in_scans(node, alias=None):
    own = node["Actual Rows"] * node.get("Actual Loops", 1) if "Scan" in node["Node Type"] else 0
    if node.get("Parent Relationship") == "SubPlan" or alias not in (None, node.get("Alias")):
        own = 0  # per-row counts for the rows shown, or another table reference
    return max([own, *(max_rows_in_scans(child, alias) for child in node.get("Plans", []))])
