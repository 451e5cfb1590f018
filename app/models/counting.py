"""The maintained counts, kept by the database itself: triggers on posts and post_tags.

Two counts are stored rather than counted per request (app/services/counters.py
reads them): each tag's `published_posts_count`, and the `counters` row
'published_posts'. Every write that changes which published posts exist or
which tags they carry passes through a trigger here, whatever made it: the
services, Conduit, `flask seed`'s COPY, a migration, raw SQL in a shell. No
writer has anything to remember, and `counters.recount()` is only a repair.

What moves a count:
- a post inserted published: the counter +1 (its tags are linked afterwards);
- a post's status entering or leaving "published": the counter and the tags it
  carries, +1 or -1;
- a published post deleted: the counter and its tags -1, *before* the row goes
  (the cascade then deletes its links, which no longer find a published post);
- a link inserted, deleted or updated: its tag +1 or -1 when its post is published.

Every change is `SET n = n + delta` evaluated on the current row, so concurrent
writers never lose one. Lock order, the same for every writer: the post's row
(a status change or delete locks it; a link's trigger takes FOR SHARE on its
post, so a concurrent publish waits and then sees the link), then the counter
row, then the tags. Tags are only ever changed while the counter row is held
(a link's trigger locks it with FOR NO KEY UPDATE, which leaves its xmin alone),
so two writers can never hold tags in opposite orders. The price, as before:
writers of published posts queue on the counter row until they commit.

The counter row's xmin is page anchors' revision (app/services/page_anchors.py): it
changes exactly when the counter is updated, that is when a published post joins
or leaves the list; retagging only locks it. A missing counter row means
"unknown": the triggers' UPDATE then changes nothing and readers count.

PostgreSQL: inserts are counted per statement over a transition table, so a
bulk load (the seeder's COPY of 100,000 posts) updates the counter once, not
once per row (repeated updates of one row in one transaction slow down as its
versions pile up). Status changes and deletes are per row, with a WHEN clause
PostgreSQL checks without calling the function, so edits that leave the status
alone cost nothing. SQLite: one writer at a time, per-row triggers.

The migration that installs these (migrations/versions/*_counts_kept_by_triggers.py)
carries a frozen copy; tests/test_migrations.py checks the two agree.
"""

from sqlalchemy import DDL, event

from app.models.base import Model

POSTGRES_DDL = (
    # A post's links changed: move the counts of the tags whose post is published.
    # Arrays, not a table, carry the links: a trigger's transition table cannot be
    # handed to another function.
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
    "CREATE TRIGGER posts_count_inserted AFTER INSERT ON posts "
    "REFERENCING NEW TABLE AS inserted_posts "
    "FOR EACH STATEMENT EXECUTE FUNCTION count_inserted_posts()",
    "CREATE TRIGGER posts_count_status AFTER UPDATE OF status ON posts FOR EACH ROW "
    "WHEN ((OLD.status = 'published') IS DISTINCT FROM (NEW.status = 'published')) "
    "EXECUTE FUNCTION count_post_status()",
    "CREATE TRIGGER posts_uncount_deleted BEFORE DELETE ON posts FOR EACH ROW "
    "WHEN (OLD.status = 'published') "
    "EXECUTE FUNCTION uncount_deleted_post()",
    "CREATE TRIGGER post_tags_count_inserted AFTER INSERT ON post_tags "
    "REFERENCING NEW TABLE AS added_links "
    "FOR EACH STATEMENT EXECUTE FUNCTION count_post_tags()",
    "CREATE TRIGGER post_tags_count_deleted AFTER DELETE ON post_tags "
    "REFERENCING OLD TABLE AS removed_links "
    "FOR EACH STATEMENT EXECUTE FUNCTION count_post_tags()",
    "CREATE TRIGGER post_tags_count_updated AFTER UPDATE ON post_tags "
    "REFERENCING OLD TABLE AS removed_links NEW TABLE AS added_links "
    "FOR EACH STATEMENT EXECUTE FUNCTION count_post_tags()",
)

# Dropping the tables drops their triggers; the functions outlive them.
POSTGRES_DROP = (
    "DROP FUNCTION IF EXISTS count_post_tags() CASCADE",
    "DROP FUNCTION IF EXISTS count_published_links(integer[], integer[], integer[])",
    "DROP FUNCTION IF EXISTS count_inserted_posts() CASCADE",
    "DROP FUNCTION IF EXISTS count_post_status() CASCADE",
    "DROP FUNCTION IF EXISTS uncount_deleted_post() CASCADE",
)

SQLITE_DDL = (
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

# Every trigger, by name, on both databases: tests check the migrations make them.
TRIGGERS = (
    "posts_count_inserted",
    "posts_count_status",
    "posts_uncount_deleted",
    "post_tags_count_inserted",
    "post_tags_count_deleted",
    "post_tags_count_updated",
)

# After every table exists (the triggers join posts, post_tags, tags and counters).
for statement in POSTGRES_DDL:
    event.listen(Model.metadata, "after_create", DDL(statement).execute_if(dialect="postgresql"))
for statement in SQLITE_DDL:
    event.listen(Model.metadata, "after_create", DDL(statement).execute_if(dialect="sqlite"))
for statement in POSTGRES_DROP:
    event.listen(Model.metadata, "after_drop", DDL(statement).execute_if(dialect="postgresql"))
