"""Posts: list (filters, search), read, write, favourites, and the feed."""

from contextlib import contextmanager

from flask import url_for
from flask_jwt_extended import current_user
from marshmallow import ValidationError, fields, validate
from werkzeug.exceptions import NotFound, Unauthorized

from app.api import blp
from app.api.idempotency import idempotent_create
from app.core.conditional import (
    cacheable,
    check_if_match,
    conditional_list,
    etagged,
    if_match,
    versioned,
)
from app.core.openapi import problems
from app.core.paging import paginate
from app.core.permissions import auth_optional, auth_required, ensure_can_modify, viewer
from app.extensions import db
from app.models import POST_STATUSES
from app.schemas.fields import text
from app.schemas.pagination import PaginationArgs, page_of, sort_field
from app.schemas.post import PostCreateSchema, PostListItemSchema, PostSchema, PostUpdateSchema
from app.services import posts
from app.services.posts import LIST_FILTERS, POST_SORTS


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


def post_or_404(reference):
    """The post as a read row (what responses are made of)."""
    return found(posts.read_post(reference, viewer()))


def post_to_change_or_404(reference):
    """The ORM post, locked, for a view that changes or deletes it."""
    return found(posts.post_to_change(reference, viewer()))


def found(post):
    if post is None:
        raise NotFound("No such post.")
    return post


def committed_answer(post):
    """The post as this request's writes leave it, read before they commit (see
    `posts.reload`), then the commit; 404 with nothing written when it is gone."""
    answer = found(posts.reload(post, current_user))
    db.session.commit()
    return answer


@blp.route("/posts")
@auth_optional
@problems(400)
@blp.arguments(PostListArgs, location="query", as_kwargs=False)
@conditional_list
@blp.response(200, page_of(PostListItemSchema))
def list_posts(args):
    """List published posts (or drafts), filtered, searched and paginated."""
    user = viewer()
    drafts = args["status"] == "draft"
    if drafts and user is None:
        raise Unauthorized("Listing drafts needs a token.")
    filters = {name: args.get(name) for name in LIST_FILTERS}
    rows = posts.post_listing(user, drafts=drafts, words=args.get("q"), **filters)
    return paginate(rows, args)


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
    post = post_to_change_or_404(reference)
    ensure_can_modify(current_user, post.author_id)
    check_if_match(post)
    with category_must_exist():
        posts.update_post(post, changes)
    return versioned(committed_answer(post))


@blp.route("/posts/<reference>", methods=["DELETE"])
@auth_required()
@if_match
@problems(403)
@blp.response(204)
def delete_post(reference):
    """Delete a post with its comments and favourites (its author or an editor)."""
    post = post_to_change_or_404(reference)
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
    if not posts.favorite(current_user, post):
        raise NotFound("No such post.")
    return committed_answer(post)


@blp.route("/posts/<reference>/favorite", methods=["DELETE"])
@auth_required()
@blp.response(200, PostSchema)
def unfavorite_post(reference):
    """Take a favourite back; doing it again changes nothing."""
    post = post_or_404(reference)
    posts.unfavorite(current_user, post)
    return committed_answer(post)


@blp.route("/feed")
@auth_required()
@blp.arguments(FeedArgs, location="query", as_kwargs=False)
@conditional_list
@blp.response(200, page_of(PostListItemSchema))
def feed(args):
    """Published posts by the authors the caller follows, newest first."""
    return paginate(posts.feed_listing(current_user), args)
