"""Posts with their categories and tags.

Counts (favourites, comments) and viewer flags are not stored: they are
computed in the same SELECT as the posts (`query_expression` attributes filled
by `with_expression`), so they are exact under any concurrency and a page of
posts costs a constant number of statements.

`version` is SQLAlchemy's version counter: every UPDATE of a post checks and
bumps it, so two writers that loaded the same revision cannot both succeed.
"""

from datetime import datetime

from sqlalchemy import (
    DDL,
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    event,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from app.core.clock import utcnow
from app.models.base import Model, UTCDateTime, hand_managed

POST_STATUSES = ("draft", "published")
# The text PostgreSQL full-text search indexes and matches against (services/posts.py).
SEARCH_DOCUMENT = "to_tsvector('english', title || ' ' || coalesce(summary, '') || ' ' || body)"
# PostgreSQL only: the document stored beside the row (a generated column), so ranking
# a match reads it instead of parsing title, summary and body again; the GIN index is
# over it. SQLite has no tsvector and searches with a LIKE fallback. Neither is in the
# model's columns (SQLAlchemy cannot declare a column for one dialect): they are made
# after the table by the DDL below and by the migration, and Alembic's comparison
# skips them (models/base.py); tests check they exist.
SEARCH_VECTOR = "search_vector"
SEARCH_DDL = (
    f"ALTER TABLE posts ADD COLUMN {SEARCH_VECTOR} tsvector "
    f"GENERATED ALWAYS AS ({SEARCH_DOCUMENT}) STORED",
    f"CREATE INDEX ix_posts_search ON posts USING gin ({SEARCH_VECTOR})",
)

post_tags = Table(
    "post_tags",
    Model.metadata,
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_post_tags_tag_id_post_id", "tag_id", "post_id"),
)


class Category(Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str | None] = mapped_column(String(500))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    posts_count: Mapped[int] = query_expression()

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("uq_categories_name_lower", func.lower(name), unique=True),)


class Tag(Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    # Kept exact by the database's triggers (app/models/counting.py).
    published_posts_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


# The maintained totals, kept by triggers (app/models/counting.py) and read by
# app/services/counters.py: one row each, made with the table.
PUBLISHED_POSTS = "published_posts"
# Bumped once per transaction that changes anything a list shows (models/list_changes.py).
LIST_VERSION = "list_version"
COUNTERS = (PUBLISHED_POSTS, LIST_VERSION)


class Counter(Model):
    """A total kept exact by the database's triggers; a missing row means unknown."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


event.listen(
    Counter.__table__,
    "after_create",
    DDL("INSERT INTO counters (name, value) VALUES ('published_posts', 0), ('list_version', 0)"),
)


class Post(Model):
    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(220), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="SET NULL"), index=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    author = relationship("User", lazy="raise_on_sql")
    category = relationship(Category, lazy="raise_on_sql")
    tags = relationship(Tag, secondary=post_tags, lazy="raise_on_sql", order_by=Tag.name)

    favorites_count: Mapped[int] = query_expression()
    comments_count: Mapped[int] = query_expression()
    favorited: Mapped[bool] = query_expression()
    rank: Mapped[float] = query_expression()

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        CheckConstraint(f"status IN {POST_STATUSES!r}", name="status"),
        # The public lists: published posts, newest first, id as tie-breaker.
        Index("ix_posts_status_published_at_id", "status", "published_at", "id"),
        Index("ix_posts_author_id_published_at", "author_id", "published_at"),
    )

    @property
    def tag_names(self):
        return [tag.name for tag in self.tags]

    @property
    def is_published(self):
        return self.status == "published"


for statement in SEARCH_DDL:
    event.listen(Post.__table__, "after_create", DDL(statement).execute_if(dialect="postgresql"))
hand_managed("column", SEARCH_VECTOR)
hand_managed("index", "ix_posts_search")
