"""Posts: visibility, listing, search, writing, favourites and the feed.

Every read goes through `posts_query`, which loads a page of posts with their
author, category and tags, and computes counts and the viewer's `favorited`
flag in the same SELECT, so a list costs the same few statements whatever
its length.
"""

from sqlalchemy import (
    BigInteger,
    and_,
    case,
    cast,
    delete,
    exists,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import joinedload, selectinload, with_expression

from app.core.clock import utcnow
from app.core.database import insert_ignoring_duplicates
from app.extensions import db
from app.models import Category, Comment, Favorite, Follow, Post, User
from app.models.post import SEARCH_DOCUMENT
from app.services.slugs import add_with_unique_slug
from app.services.tags import tags_named

MAX_ID = 2**31 - 1  # ids are INTEGER: a larger one names nothing (and would not bind)
MAX_SEARCH_WORDS = 10
RANK_SCALE = 1_000_000


class UnknownCategory(Exception):
    pass


def favorites_count():
    return select(func.count()).where(Favorite.post_id == Post.id).scalar_subquery()


def comments_count():
    return select(func.count()).where(Comment.post_id == Post.id).scalar_subquery()


def favorited_by(viewer):
    if viewer is None:
        return false()
    return exists().where(Favorite.post_id == Post.id, Favorite.user_id == viewer.id)


def posts_query(viewer):
    """Posts with everything a list or detail view shows."""
    return select(Post).options(
        joinedload(Post.author),
        joinedload(Post.category),
        selectinload(Post.tags),
        with_expression(Post.favorites_count, favorites_count()),
        with_expression(Post.comments_count, comments_count()),
        with_expression(Post.favorited, favorited_by(viewer)),
    )


def can_see(viewer, post):
    if post.status == "published":
        return True
    return viewer is not None and (viewer.id == post.author_id or viewer.has_role("editor"))


def find_post(reference, viewer, *, for_update=False):
    """The post with this id or slug that `viewer` may see, or None."""
    query = posts_query(viewer)
    if reference.isascii() and reference.isdigit():  # "³".isdigit() is True too
        if int(reference) > MAX_ID:
            return None
        query = query.where(Post.id == int(reference))
    else:
        query = query.where(Post.slug == reference)
    if for_update:
        # Serialise writers on PostgreSQL; the version counter still guards SQLite.
        query = query.with_for_update(of=Post)
    post = db.session.scalars(query).unique().one_or_none()
    return post if post is not None and can_see(viewer, post) else None


def published_posts(viewer):
    return posts_query(viewer).where(Post.status == "published")


def draft_posts(viewer):
    """Drafts the viewer may list: their own, or every draft for editors."""
    query = posts_query(viewer).where(Post.status == "draft")
    if not viewer.has_role("editor"):
        query = query.where(Post.author_id == viewer.id)
    return query


def filter_posts(query, *, author=None, category=None, tag=None, favorited_by=None):
    if author is not None:
        query = query.where(
            Post.author_id.in_(select(User.id).where(func.lower(User.username) == author.lower()))
        )
    if category is not None:
        query = query.where(
            Post.category_id.in_(select(Category.id).where(Category.slug == category))
        )
    if tag is not None:
        query = query.where(Post.tags.any(name=tag.lower()))
    if favorited_by is not None:
        fans = select(Favorite.post_id).join(User, User.id == Favorite.user_id)
        query = query.where(
            Post.id.in_(fans.where(func.lower(User.username) == favorited_by.lower()))
        )
    return query


def search(query, words):
    """Filter to posts matching `words`; returns (query, relevance expression).

    PostgreSQL: full-text search with stemming over the indexed document.
    SQLite: every word must appear in title, summary or body; a title hit
    weighs 3, summary 2, body 1.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        document = literal_column(SEARCH_DOCUMENT)
        tsquery = func.websearch_to_tsquery("english", words)
        # Scaled to a whole number: a float rank would not survive the round trip
        # through a cursor exactly, and keyset comparisons need exact values.
        rank = cast(func.ts_rank(document, tsquery) * RANK_SCALE, BigInteger)
        return query.where(document.op("@@")(tsquery)), rank
    rank = None
    for word in words.split()[:MAX_SEARCH_WORDS]:
        hits = [
            (Post.title.icontains(word, autoescape=True), 3),
            (func.coalesce(Post.summary, "").icontains(word, autoescape=True), 2),
            (Post.body.icontains(word, autoescape=True), 1),
        ]
        query = query.where(or_(*(condition for condition, _ in hits)))
        word_rank = sum(case((condition, weight), else_=0) for condition, weight in hits)
        rank = word_rank if rank is None else rank + word_rank
    return query, (literal(0) if rank is None else rank)


def with_rank(rank):
    return with_expression(Post.rank, rank)


def rank_key(post, _sort):
    """Cursor values for the relevance order: rank, then publication date."""
    return [post.rank, post.published_at]


def reload(post, viewer):
    """The post again, with counts and flags computed after this request's writes."""
    query = posts_query(viewer).where(Post.id == post.id).execution_options(populate_existing=True)
    return db.session.scalars(query).unique().one()


def feed(viewer):
    followed = select(Follow.followee_id).where(Follow.follower_id == viewer.id)
    return published_posts(viewer).where(Post.author_id.in_(followed))


def category_by_slug(slug):
    category = db.session.scalar(select(Category).where(Category.slug == slug))
    if category is None:
        raise UnknownCategory(slug)
    return category


def apply_changes(post, data):
    """Set fields from validated input; publication stamps published_at once."""
    for name in ("title", "summary", "body", "status"):
        if name in data:
            setattr(post, name, data[name])
    if "category" in data:
        post.category = category_by_slug(data["category"]) if data["category"] else None
    if "tags" in data:
        post.tags = tags_named(data["tags"])
    if post.status == "published" and post.published_at is None:
        post.published_at = utcnow()


def create_post(author, data):
    now = utcnow()  # stamped before publication, so published_at >= created_at
    post = Post(author=author, status="draft", tags=[], created_at=now, updated_at=now)
    apply_changes(post, data)
    return add_with_unique_slug(post, data["title"], "post")


def update_post(post, changes):
    apply_changes(post, changes)
    post.updated_at = utcnow()  # any change bumps the row, and so its version
    db.session.flush()
    return post


def delete_post(post):
    """Delete by id and the version we read; comments and favourites cascade in the database."""
    result = db.session.execute(
        delete(Post).where(and_(Post.id == post.id, Post.version == post.version))
    )
    return result.rowcount == 1


def favorite(user, post):
    insert_ignoring_duplicates(
        db.session, Favorite, user_id=user.id, post_id=post.id, created_at=utcnow()
    )


def unfavorite(user, post):
    db.session.execute(
        delete(Favorite).where(Favorite.user_id == user.id, Favorite.post_id == post.id)
    )
