"""Posts: list (filters, search), read, write, favourites, and the feed."""

from contextlib import contextmanager

from flask import url_for
from flask_jwt_extended import current_user
from marshmallow import ValidationError, fields, validate
from werkzeug.exceptions import NotFound, Unauthorized

from app.api import blp
from app.core.conditional import cacheable, check_if_match, etagged, if_match, versioned
from app.core.idempotency import idempotent_create
from app.core.openapi import problems
from app.core.pagination import PaginationArgs, Sort, page_of, paginate, sort_field
from app.core.permissions import auth_optional, auth_required, ensure_can_modify, viewer
from app.extensions import db
from app.models import POST_STATUSES, Post
from app.schemas.fields import text
from app.schemas.post import PostCreateSchema, PostListItemSchema, PostSchema, PostUpdateSchema
from app.services import counters, posts

POST_SORTS = {"published_at": Post.published_at, "created_at": Post.created_at, "title": Post.title}
# Drafts have no published_at: their "published_at" order is creation order.
DRAFT_SORTS = {**POST_SORTS, "published_at": Post.created_at}


LIST_FILTERS = ("author", "category", "tag", "favorited_by")


class PostListArgs(PaginationArgs):
    sort = sort_field(POST_SORTS, None)
    author = text(32, min_length=1, metadata={"description": "Author's username"})
    category = text(80, min_length=1, metadata={"description": "Category slug"})
    tag = text(32, min_length=1)
    favorited_by = text(32, min_length=1, metadata={"description": "Username"})
    status = fields.String(
        load_default="published",
        validate=validate.OneOf(POST_STATUSES),
        metadata={"description": "`draft` needs a token: own drafts, or every draft for editors"},
    )
    q = text(200, min_length=1, metadata={"description": "Full-text search; ranks by relevance"})


class FeedArgs(PaginationArgs):
    sort = sort_field(POST_SORTS, "-published_at")


@contextmanager
def category_must_exist():
    try:
        yield
    except posts.UnknownCategory:
        raise ValidationError("No such category.", "category") from None


def post_or_404(reference, *, for_update=False):
    post = posts.find_post(reference, viewer(), for_update=for_update)
    if post is None:
        raise NotFound("No such post.")
    return post


def list_query(args, user):
    """The posts query for these filters, its parameters, and the sort names that apply."""
    if args["status"] == "draft":
        if user is None:
            raise Unauthorized("Listing drafts needs a token.")
        query, sorts = posts.draft_posts(user), DRAFT_SORTS
    else:
        query, sorts = posts.published_posts(user), POST_SORTS
    query, params = posts.filter_posts(query, **{k: args.get(k) for k in LIST_FILTERS})
    return query, {**params, **posts.viewer_params(user)}, sorts


@blp.route("/posts")
@auth_optional
@problems(400)
@blp.arguments(PostListArgs, location="query", as_kwargs=False)
@blp.response(200, page_of(PostListItemSchema))
def list_posts(args):
    """List published posts (or drafts), filtered, searched and paginated."""
    user = viewer()
    query, params, sorts = list_query(args, user)
    if "q" in args:
        query, rank = posts.search(query, args["q"])
        query = posts.with_rank(query, rank)
        if args["sort"] is None:
            relevance = Sort("relevance", (rank, sorts["published_at"]), descending=True)
            return paginate(
                query, args, id_column=Post.id, sort=relevance, key_of=posts.rank_key, params=params
            )
    args["sort"] = args["sort"] or "-published_at"
    # Every published post, unfiltered: the maintained counter is the exact total.
    unfiltered = args["status"] == "published" and not {*LIST_FILTERS, "q"} & args.keys()
    counter = counters.PUBLISHED_LIST if unfiltered else None
    return paginate(query, args, sorts=sorts, id_column=Post.id, counter=counter, params=params)


@blp.route("/posts", methods=["POST"])
@auth_required()
@idempotent_create
@blp.arguments(PostCreateSchema)
@blp.response(201, PostSchema, headers={"Location": "Location"})
def create_post(data):
    """Write a post (a draft unless `status` is `published`)."""
    with category_must_exist():
        post = posts.create_post(current_user, data)
    location = url_for("api.get_post", reference=post.id, _external=True)
    return posts.reload(post, current_user), 201, {"Location": location}


@blp.route("/posts/<reference>")
@auth_optional
@cacheable
@blp.response(200, PostSchema)
def get_post(reference):
    """Read a post by id or slug (drafts: their author and editors only)."""
    return versioned(post_or_404(reference))


@blp.route("/posts/<reference>", methods=["PATCH"])
@auth_required()
@if_match
@problems(403)
@etagged
@blp.arguments(PostUpdateSchema)
@blp.response(200, PostSchema)
def update_post(changes, reference):
    """Edit a post (its author or an editor); honours If-Match."""
    post = post_or_404(reference, for_update=True)
    ensure_can_modify(current_user, post.author_id)
    check_if_match(post)
    with category_must_exist():
        posts.update_post(post, changes)
    db.session.commit()
    return versioned(posts.reload(post, current_user))


@blp.route("/posts/<reference>", methods=["DELETE"])
@auth_required()
@if_match
@problems(403)
@blp.response(204)
def delete_post(reference):
    """Delete a post with its comments and favourites (its author or an editor)."""
    post = post_or_404(reference, for_update=True)
    ensure_can_modify(current_user, post.author_id)
    check_if_match(post)
    posts.delete_post(post)
    db.session.commit()


@blp.route("/posts/<reference>/favorite", methods=["POST"])
@auth_required()
@blp.response(200, PostSchema)
def favorite_post(reference):
    """Favourite a post; doing it again changes nothing."""
    post = post_or_404(reference)
    posts.favorite(current_user, post)
    db.session.commit()
    return posts.reload(post, current_user)


@blp.route("/posts/<reference>/favorite", methods=["DELETE"])
@auth_required()
@blp.response(200, PostSchema)
def unfavorite_post(reference):
    """Take a favourite back; doing it again changes nothing."""
    post = post_or_404(reference)
    posts.unfavorite(current_user, post)
    db.session.commit()
    return posts.reload(post, current_user)


@blp.route("/feed")
@auth_required()
@blp.arguments(FeedArgs, location="query", as_kwargs=False)
@blp.response(200, page_of(PostListItemSchema))
def feed(args):
    """Published posts by the authors the caller follows, newest first."""
    params = posts.viewer_params(current_user)
    return paginate(posts.feed(), args, sorts=POST_SORTS, id_column=Post.id, params=params)
