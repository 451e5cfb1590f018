"""Counts kept by triggers.

Each tag's published_posts_count and the counters row 'published_posts' were
adjusted by every writer in Python (services/counters.post_changed), and a writer
that forgot (raw SQL, a bulk load) left them wrong with no error. Triggers on
posts and post_tags now keep them, on PostgreSQL and SQLite; the design and the
lock order are in app/models/counting.py. Written by hand (Alembic does not
compare triggers): the statements below are a frozen copy of that module's, and
tests/test_migrations.py checks the migrated triggers equal the models' own.
Upgrading also recounts both, so the triggers start from exact values.

Revision ID: c37eabc84ed4
Revises: e3223bdcb305
Create Date: 2026-12-05 06:35:12.398806

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c37eabc84ed4'
down_revision = 'e3223bdcb305'
branch_labels = None
depends_on = None

POSTGRES = (
    """
CREATE FUNCTION count_published_links(post_ids integer[], tag_ids integer[], deltas integer[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- FOR SHARE: a concurrent status change waits for us, or we for it and then
    -- read the status it committed (each statement here takes a fresh snapshot);
    -- either way each link is counted once.
    PERFORM 1 FROM posts WHERE id = ANY (post_ids) ORDER BY id FOR SHARE;
    IF NOT EXISTS (SELECT 1 FROM posts WHERE id = ANY (post_ids) AND status = 'published') THEN
        RETURN;
    END IF;
    PERFORM 1 FROM counters WHERE name = 'published_posts' FOR NO KEY UPDATE;
    UPDATE tags SET published_posts_count = published_posts_count + moved.delta
    FROM (
        SELECT link.tag_id, sum(link.delta) AS delta
        FROM unnest(post_ids, tag_ids, deltas) AS link (post_id, tag_id, delta)
        JOIN posts ON posts.id = link.post_id
        WHERE posts.status = 'published'
        GROUP BY link.tag_id
    ) AS moved
    WHERE tags.id = moved.tag_id AND moved.delta <> 0;
END $$
""",
    """
CREATE FUNCTION count_post_tags() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    post_ids integer[];
    tag_ids integer[];
    deltas integer[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(post_id), array_agg(tag_id), array_agg(1)
        INTO post_ids, tag_ids, deltas FROM added_links;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(post_id), array_agg(tag_id), array_agg(-1)
        INTO post_ids, tag_ids, deltas FROM removed_links;
    ELSE
        SELECT array_agg(post_id), array_agg(tag_id), array_agg(delta)
        INTO post_ids, tag_ids, deltas FROM (
            SELECT post_id, tag_id, 1 AS delta FROM added_links
            UNION ALL
            SELECT post_id, tag_id, -1 FROM removed_links
        ) AS link;
    END IF;
    IF post_ids IS NOT NULL THEN
        PERFORM count_published_links(post_ids, tag_ids, deltas);
    END IF;
    RETURN NULL;
END $$
""",
    """
CREATE FUNCTION count_inserted_posts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE counters SET value = value + inserted.published
    FROM (SELECT count(*) AS published FROM inserted_posts WHERE status = 'published') AS inserted
    WHERE name = 'published_posts' AND inserted.published > 0;
    RETURN NULL;
END $$
""",
    """
CREATE FUNCTION count_post_status() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta integer := CASE WHEN NEW.status = 'published' THEN 1 ELSE -1 END;
BEGIN
    UPDATE counters SET value = value + delta WHERE name = 'published_posts';
    UPDATE tags SET published_posts_count = published_posts_count + delta
    WHERE id IN (SELECT tag_id FROM post_tags WHERE post_id = NEW.id);
    RETURN NULL;
END $$
""",
    """
CREATE FUNCTION uncount_deleted_post() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE counters SET value = value - 1 WHERE name = 'published_posts';
    UPDATE tags SET published_posts_count = published_posts_count - 1
    WHERE id IN (SELECT tag_id FROM post_tags WHERE post_id = OLD.id);
    RETURN OLD;
END $$
""",
    "CREATE TRIGGER posts_count_inserted AFTER INSERT ON posts REFERENCING NEW TABLE AS inserted_posts FOR EACH STATEMENT EXECUTE FUNCTION count_inserted_posts()",
    "CREATE TRIGGER posts_count_status AFTER UPDATE OF status ON posts FOR EACH ROW WHEN ((OLD.status = 'published') IS DISTINCT FROM (NEW.status = 'published')) EXECUTE FUNCTION count_post_status()",
    "CREATE TRIGGER posts_uncount_deleted BEFORE DELETE ON posts FOR EACH ROW WHEN (OLD.status = 'published') EXECUTE FUNCTION uncount_deleted_post()",
    "CREATE TRIGGER post_tags_count_inserted AFTER INSERT ON post_tags REFERENCING NEW TABLE AS added_links FOR EACH STATEMENT EXECUTE FUNCTION count_post_tags()",
    "CREATE TRIGGER post_tags_count_deleted AFTER DELETE ON post_tags REFERENCING OLD TABLE AS removed_links FOR EACH STATEMENT EXECUTE FUNCTION count_post_tags()",
    "CREATE TRIGGER post_tags_count_updated AFTER UPDATE ON post_tags REFERENCING OLD TABLE AS removed_links NEW TABLE AS added_links FOR EACH STATEMENT EXECUTE FUNCTION count_post_tags()",
)

SQLITE = (
    """
CREATE TRIGGER posts_count_inserted AFTER INSERT ON posts
WHEN NEW.status = 'published'
BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'published_posts';
END
""",
    """
CREATE TRIGGER posts_count_status AFTER UPDATE OF status ON posts
WHEN (OLD.status = 'published') <> (NEW.status = 'published')
BEGIN
    UPDATE counters SET value = value + iif(NEW.status = 'published', 1, -1)
    WHERE name = 'published_posts';
    UPDATE tags SET published_posts_count =
        published_posts_count + iif(NEW.status = 'published', 1, -1)
    WHERE id IN (SELECT tag_id FROM post_tags WHERE post_id = NEW.id);
END
""",
    """
CREATE TRIGGER posts_uncount_deleted BEFORE DELETE ON posts
WHEN OLD.status = 'published'
BEGIN
    UPDATE counters SET value = value - 1 WHERE name = 'published_posts';
    UPDATE tags SET published_posts_count = published_posts_count - 1
    WHERE id IN (SELECT tag_id FROM post_tags WHERE post_id = OLD.id);
END
""",
    """
CREATE TRIGGER post_tags_count_inserted AFTER INSERT ON post_tags
WHEN (SELECT status FROM posts WHERE id = NEW.post_id) = 'published'
BEGIN
    UPDATE tags SET published_posts_count = published_posts_count + 1 WHERE id = NEW.tag_id;
END
""",
    """
CREATE TRIGGER post_tags_count_deleted AFTER DELETE ON post_tags
WHEN (SELECT status FROM posts WHERE id = OLD.post_id) = 'published'
BEGIN
    UPDATE tags SET published_posts_count = published_posts_count - 1 WHERE id = OLD.tag_id;
END
""",
    """
CREATE TRIGGER post_tags_count_updated AFTER UPDATE ON post_tags
BEGIN
    UPDATE tags SET published_posts_count = published_posts_count - 1
    WHERE id = OLD.tag_id AND (SELECT status FROM posts WHERE id = OLD.post_id) = 'published';
    UPDATE tags SET published_posts_count = published_posts_count + 1
    WHERE id = NEW.tag_id AND (SELECT status FROM posts WHERE id = NEW.post_id) = 'published';
END
""",
)

TRIGGERS = (
    ("posts", "posts_count_inserted"),
    ("posts", "posts_count_status"),
    ("posts", "posts_uncount_deleted"),
    ("post_tags", "post_tags_count_inserted"),
    ("post_tags", "post_tags_count_deleted"),
    ("post_tags", "post_tags_count_updated"),
)
POSTGRES_FUNCTIONS = (
    "count_post_tags()",
    "count_published_links(integer[], integer[], integer[])",
    "count_inserted_posts()",
    "count_post_status()",
    "uncount_deleted_post()",
)
RECOUNT = (
    "UPDATE counters SET value = (SELECT count(*) FROM posts WHERE status = 'published') "
    "WHERE name = 'published_posts'",
    "UPDATE tags SET published_posts_count = ("
    "SELECT count(*) FROM post_tags JOIN posts ON posts.id = post_tags.post_id "
    "WHERE post_tags.tag_id = tags.id AND posts.status = 'published')",
)


def upgrade():
    postgres = op.get_bind().dialect.name == 'postgresql'
    for statement in POSTGRES if postgres else SQLITE:
        op.execute(statement)
    for statement in RECOUNT:
        op.execute(statement)


def downgrade():
    postgres = op.get_bind().dialect.name == 'postgresql'
    for table, trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER {trigger} ON {table}" if postgres else f"DROP TRIGGER {trigger}")
    if postgres:
        for function in POSTGRES_FUNCTIONS:
            op.execute(f"DROP FUNCTION {function}")
