"""Posts: visibility, listing, search, writing, favourites and the feed.

Every read goes through `posts_query`, one SELECT that returns plain rows
with the author, category, tags, counts and the viewer's `favorited` flag, so a
list costs one statement whatever its length. Writes work on the ORM Post.
"""

import re

from sqlalchemy import (
    BigInteger,
    and_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    false,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.types import String, TypeDecorator

from app.core.clock import utcnow
from app.core.database import insert_ignoring_duplicates, json_object
from app.core.numbers import whole_number
from app.extensions import db
from app.models import Category, Comment, Favorite, Follow, Post, Tag, User, post_tags
from app.models.post import SEARCH_VECTOR
from app.services import counters
from app.services.listing import Listing, Sort, attribute_values, read_rows
from app.services.slugs import add_with_unique_slug
from app.services.statement_cache import built_once, derived
from app.services.tags import tags_named

MAX_ID = 2**31 - 1  # ids are INTEGER: a larger one names nothing (and would not bind)
MAX_SEARCH_WORDS = 10
# A dash, then more dashes with only spaces or operators between them ("- -",
# "-(-(", "-!-!"): websearch_to_tsquery nests one NOT per dash, and 33 nested
# NOTs overflow PostgreSQL's tsquery stack ("tsquery stack too small", a 500).
NEGATION_RUN = re.compile(r"-(?:[^\w\"']*-)+")
RANK_SCALE = 1_000_000


class UnknownCategory(Exception):
    pass


class TagNames(TypeDecorator):
    """Comma-joined tag names from the database, as a sorted list (tag names hold no
    commas: the schema refuses them)."""

    impl = String
    cache_ok = True

    def process_result_value(self, value, dialect):
        return sorted(value.split(",")) if value else []


def object_of(*columns):
    """The columns as one JSON object keyed by their names (read back as a dict)."""
    pairs = []
    for column in columns:
        pairs += [literal_column(f"'{column.key}'"), column]
    return json_object(*pairs)


def favorites_count():
    return select(func.count()).where(Favorite.post_id == Post.id).scalar_subquery()


def comments_count():
    return select(func.count()).where(Comment.post_id == Post.id).scalar_subquery()


VIEWER_ID = "folio_viewer_id"


def favorited(*, signed_in):
    """Whether the viewer favourited the post; signed in, the viewer's id is a bound
    parameter (`VIEWER_ID`), so one select serves every viewer."""
    if not signed_in:
        return false()
    return exists().where(Favorite.post_id == Post.id, Favorite.user_id == bindparam(VIEWER_ID))


def tag_names():
    """The post's tag names in one correlated aggregate (string_agg on PostgreSQL,
    group_concat on SQLite), so tags cost no second round trip; TagNames splits them."""
    # The separator as SQL text: a plain "," would be a literal_execute parameter,
    # which makes SQLAlchemy rewrite the statement's SQL on every execution.
    names = (
        select(func.aggregate_strings(Tag.name, literal_column("','")))
        .join(post_tags, post_tags.c.tag_id == Tag.id)
        .where(post_tags.c.post_id == Post.id)
        .scalar_subquery()
    )
    return type_coerce(names, TagNames())


def author(*, profile, signed_in):
    """The author as an object; as a profile (Conduit's) with the bio and whether the
    viewer follows them."""
    if not profile:
        return object_of(User.id, User.username, User.image)
    if signed_in:
        followed = exists().where(
            Follow.follower_id == bindparam(VIEWER_ID), Follow.followee_id == User.id
        )
    else:
        followed = false()
    return object_of(User.id, User.username, User.image, User.bio, followed.label("following"))


def category():
    """The category as an object, or null for a post without one."""
    summary = object_of(Category.id, Category.name, Category.slug)
    return case((Category.id.is_(None), null()), else_=summary)


POST_FIELDS = (
    Post.id,
    Post.slug,
    Post.title,
    Post.summary,
    Post.status,
    Post.author_id,
    Post.version,
    Post.created_at,
    Post.updated_at,
    Post.published_at,
)


def posts_query(viewer, *, body=False, profiles=False):
    """Posts as plain rows with everything a list or detail view shows, in one statement.

    Rows, not ORM objects: the profiler showed building and tracking Post, User and
    Category instances (and a selectinload round trip for tags) costing more than
    the database work. The author and category come as JSON objects (dicts), so
    the select needs none of the ORM's row processing and runs on the connection
    (`listing.read_rows`). Every read of a post answers with such a row (a list,
    `read_post`, `reload`); writes load the ORM Post (`post_to_change`) and
    answer with `reload`.

    The select is built once per process for each shape (signed in or not, with
    the body or not), and so are the statements made from it: see
    app/services/statement_cache.py for why and what it buys. The viewer's id
    is therefore a parameter, `viewer_params(viewer)`, given when the statement
    runs (by this module: a listing carries its params).
    `profiles` gives each author as a profile (`author(profile=True)`), so a page of
    Conduit articles needs no second query for its authors.
    """
    return base_posts_query(viewer is not None, body, profiles)


def viewer_params(viewer):
    """The values a posts query needs at execution: the viewer's id, when signed in."""
    return {} if viewer is None else {VIEWER_ID: viewer.id}


@built_once
def base_posts_query(signed_in, body, profiles=False):
    columns = [
        *POST_FIELDS,
        *([Post.body] if body else []),
        author(profile=profiles, signed_in=signed_in).label("author"),
        category().label("category"),
        tag_names().label("tag_names"),
        favorites_count().label("favorites_count"),
        comments_count().label("comments_count"),
        favorited(signed_in=signed_in).label("favorited"),
    ]
    # Outer join: a post without a category is still listed. (Page mode's id
    # subquery leaves both joins out: listing.ids_of.)
    return (
        select(*columns)
        .outerjoin(User, User.id == Post.author_id)
        .outerjoin(Category, Category.id == Post.category_id)
    )


def can_see(viewer, post):
    if post.status == "published":
        return True
    return viewer is not None and (viewer.id == post.author_id or viewer.has_role("editor"))


def read_post(reference, viewer, *, profiles=False):
    """The post with this id or slug that `viewer` may see, as a read row with the
    body (see posts_query), or None."""
    by_id, value = parse_reference(reference)
    if value is None:
        return None
    params = {"reference": value, **viewer_params(viewer)}
    post = read_rows(read_select(viewer is not None, by_id, profiles), params).one_or_none()
    return post if post is not None and can_see(viewer, post) else None


def post_to_change(reference, viewer):
    """The ORM Post with this id or slug that `viewer` may see, locked on PostgreSQL
    and with its tags loaded, for a view that changes it; or None."""
    by_id, value = parse_reference(reference)
    if value is None:
        return None
    post = db.session.execute(change_select(by_id), {"reference": value}).scalar_one_or_none()
    return post if post is not None and can_see(viewer, post) else None


def parse_reference(reference):
    """(by id?, the value to look for): an all-digit reference is an id (None when
    no id can be that large), anything else a slug."""
    by_id = reference.isascii() and reference.isdigit()  # "³".isdigit() is True too
    return by_id, (whole_number(reference, MAX_ID) if by_id else reference)


def by_reference(query, by_id):
    column = Post.id if by_id else Post.slug
    return query.where(column == bindparam("reference"))


@built_once
def read_select(signed_in, by_id, profiles=False):
    return by_reference(base_posts_query(signed_in, True, profiles), by_id)


@built_once
def change_select(by_id):
    # Tags loaded up front: replacing the collection needs the old one.
    query = select(Post).options(selectinload(Post.tags)).with_for_update(of=Post)
    return by_reference(query, by_id)


def published_posts(viewer, *, profiles=False):
    """Published posts: one select per process for anonymous readers, one for signed-in."""
    return published_select(viewer is not None, profiles)


@built_once
def published_select(signed_in, profiles):
    return base_posts_query(signed_in, False, profiles).where(Post.status == "published")


def draft_posts(viewer):
    """Drafts the viewer may list: their own, or every draft for editors."""
    query = posts_query(viewer).where(Post.status == "draft")
    if not viewer.has_role("editor"):
        query = query.where(Post.author_id == viewer.id)
    return query


def filter_posts(query, **filters):
    """`query` narrowed by the filters given (author, category, tag, favorited_by:
    None means not given); returns (query, params). Made once per query and set
    of filters (statement_cache.derived), the values being parameters."""
    given = tuple(sorted(name for name, value in filters.items() if value is not None))
    if not given:
        return query, {}
    params = {f"filter_{name}": FILTER_VALUES[name](filters[name]) for name in given}
    return derived(query, ("filters", given), lambda: with_filters(query, given)), params


FILTER_VALUES = {
    "author": str.lower,
    "category": str,
    "tag": str.lower,
    "favorited_by": str.lower,
}


def with_filters(query, names):
    if "author" in names:
        authors = select(User.id).where(func.lower(User.username) == bindparam("filter_author"))
        query = query.where(Post.author_id.in_(authors))
    if "category" in names:
        chosen = select(Category.id).where(Category.slug == bindparam("filter_category"))
        query = query.where(Post.category_id.in_(chosen))
    if "tag" in names:
        query = query.where(Post.tags.any(Tag.name == bindparam("filter_tag")))
    if "favorited_by" in names:
        fans = select(Favorite.post_id).join(User, User.id == Favorite.user_id)
        fan = func.lower(User.username) == bindparam("filter_favorited_by")
        query = query.where(Post.id.in_(fans.where(fan)))
    return query


def search(query, words):
    """Filter to posts matching `words`; returns (query, relevance expression).

    PostgreSQL: full-text search with stemming over the stored, indexed document
    (posts.search_vector), which ts_rank reads instead of parsing each match again.
    SQLite: every word must appear in title, summary or body; a title hit
    weighs 3, summary 2, body 1.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        document = literal_column(f"posts.{SEARCH_VECTOR}")
        tsquery = func.websearch_to_tsquery("english", websearch_text(words))
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


def websearch_text(words):
    """`words` with each run of negations made one: `-` excludes a word, and
    `--x` (or a hundred dashes) means nothing more than `-x` to a reader."""
    return NEGATION_RUN.sub("-", words)


def with_rank(query, rank):
    return query.add_columns(rank.label("rank"))


def rank_key(post, sort):
    """Cursor values for the relevance order (rank, then publication date), or the
    sort columns' for any other order of a search."""
    if sort.name == RELEVANCE:
        return [post.rank, post.published_at]
    return attribute_values(post, sort)


POST_SORTS = {"published_at": Post.published_at, "created_at": Post.created_at, "title": Post.title}
# Drafts have no published_at: their "published_at" order is creation order.
DRAFT_SORTS = {**POST_SORTS, "published_at": Post.created_at}
LIST_FILTERS = ("author", "category", "tag", "favorited_by")
RELEVANCE = "relevance"


def post_listing(viewer, *, drafts=False, words=None, **filters):
    """The posts a list shows, ready to page (listing.Listing): published posts, or
    the drafts `viewer` may list; narrowed by `filters` (LIST_FILTERS, None for not
    given) and by a search for `words`, which orders by relevance unless the
    client sorts.

    Every published post, unfiltered, has a maintained count: the list's exact
    total, read instead of counted.
    """
    sorts = DRAFT_SORTS if drafts else POST_SORTS
    query = draft_posts(viewer) if drafts else published_posts(viewer)
    query, params = filter_posts(query, **filters)
    unfiltered = not drafts and not params
    params.update(viewer_params(viewer))
    newest_first = Sort.parse("-published_at", sorts)
    if words is not None:
        query, rank = search(query, words)
        relevance = Sort(RELEVANCE, (rank, sorts["published_at"]), descending=True)
        query = with_rank(query, rank)
        return Listing(
            query, Post.id, sorts, default_sort=relevance, params=params, sort_values=rank_key
        )
    counter = counters.PUBLISHED_LIST if unfiltered else None
    return Listing(query, Post.id, sorts, default_sort=newest_first, counter=counter, params=params)


def feed_listing(viewer, *, profiles=False):
    """Published posts by the authors `viewer` follows, ready to page."""
    return Listing(
        feed(profiles=profiles),
        Post.id,
        POST_SORTS,
        default_sort=Sort.parse("-published_at", POST_SORTS),
        params=viewer_params(viewer),
    )


def article_listing(viewer, **filters):
    """Conduit's articles (published posts, authors as profiles), newest first,
    narrowed by `filters` (tag, author, favorited_by); the maintained count when
    unfiltered."""
    query, params = filter_posts(published_posts(viewer, profiles=True), **filters)
    counter = None if params else counters.PUBLISHED_LIST
    return Listing(
        query,
        Post.id,
        POST_SORTS,
        default_sort=Sort.parse("-published_at", POST_SORTS),
        counter=counter,
        params={**params, **viewer_params(viewer)},
    )


def reload(post, viewer, *, profiles=False):
    """The post as a row, with counts and flags computed after this request's writes;
    None when it is gone (deleted by another request).

    Call it before the commit, in the writes' own transaction: the row is then
    what the commit makes durable, and the writes' locks (the post's FOR UPDATE,
    the favourite's key lock on it) keep a concurrent delete out. After the
    commit the post may be gone, and the expired ORM object with it.
    """
    db.session.flush()
    params = {"reference": post.id, **viewer_params(viewer)}
    return read_rows(read_select(viewer is not None, True, profiles), params).one_or_none()


@built_once
def feed(*, profiles=False):
    """Published posts by the authors the viewer follows, built once per process:
    the viewer is the `viewer_params` parameter."""
    followed = select(Follow.followee_id).where(Follow.follower_id == bindparam(VIEWER_ID))
    # Without it PostgreSQL walks every published post, newest first, looking for
    # 21 by the followed authors: 312 ms on 100,000 posts for a viewer who follows
    # nobody. Uncorrelated, it is checked once, before the walk.
    follows_anyone = followed.exists()
    return published_select(True, profiles).where(follows_anyone, Post.author_id.in_(followed))


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
    return add_with_unique_slug(post, data["title"], "post", always_suffixed=True)


def update_post(post, changes):
    """Change a post loaded `for_update` (locked, with its tags); the database's
    triggers move the maintained counts (models/counting.py) as the rows change."""
    apply_changes(post, changes)
    post.updated_at = utcnow()  # any change bumps the row, and so its version
    db.session.flush()
    return post


def delete_post(post):
    """Delete by id and the version we read; comments, favourites and tag links cascade
    in the database, and its triggers take a published post out of the counts."""
    result = db.session.execute(
        delete(Post).where(and_(Post.id == post.id, Post.version == post.version))
    )
    return result.rowcount == 1


def favorite(user, post):
    """Favourite `post` (again: nothing changes). False when the post is gone: deleted
    since this request read it, the favourite's foreign key refuses the insert, and
    the transaction can only be rolled back."""
    try:
        insert_ignoring_duplicates(
            db.session, Favorite, user_id=user.id, post_id=post.id, created_at=utcnow()
        )
    except IntegrityError:
        return False
    return True


def unfavorite(user, post):
    db.session.execute(
        delete(Favorite).where(Favorite.user_id == user.id, Favorite.post_id == post.id)
    )
