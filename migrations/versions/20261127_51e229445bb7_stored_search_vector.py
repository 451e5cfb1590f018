"""Stored search vector (PostgreSQL only).

Search ranked every match with ts_rank over to_tsvector(title, summary, body),
parsing each matching post's text again per request (q=coffee timed out on
100,000 posts). The document is now a generated column, stored with the row,
and the GIN index is over it. Written by hand: Alembic cannot declare a column
for one dialect (app/models/post.py, SEARCH_DDL, says the same; the comparison
skips both, tests check they exist). SQLite keeps its LIKE fallback: nothing to do.

Revision ID: 51e229445bb7
Revises: 0f279986dfce
Create Date: 2026-11-27 18:23:11.749986

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '51e229445bb7'
down_revision = '0f279986dfce'
branch_labels = None
depends_on = None

DOCUMENT = "to_tsvector('english', title || ' ' || coalesce(summary, '') || ' ' || body)"


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_posts_search', table_name='posts')
    # Rewrites the table once, computing every row's vector.
    op.execute(
        f"ALTER TABLE posts ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({DOCUMENT}) STORED"
    )
    op.execute("CREATE INDEX ix_posts_search ON posts USING gin (search_vector)")


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_posts_search', table_name='posts')
    op.drop_column('posts', 'search_vector')
    op.execute(f"CREATE INDEX ix_posts_search ON posts USING gin ({DOCUMENT})")
