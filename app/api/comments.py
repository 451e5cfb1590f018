"""Comments: listed and written under a post, read and changed by id."""

from flask import url_for
from flask_jwt_extended import current_user
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import Forbidden, NotFound

from app.api import blp
from app.api.idempotency import idempotent_create
from app.api.posts import post_or_404
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
from app.models import Comment
from app.schemas.pagination import PaginationArgs, page_of, sort_field
from app.schemas.post import CommentSchema, CommentWriteSchema
from app.services import comments
from app.services.listing import Listing

COMMENT_SORTS = {"created_at": Comment.created_at}


class CommentListArgs(PaginationArgs):
    sort = sort_field(COMMENT_SORTS, "created_at")


def comment_or_404(comment_id, *, for_update=False):
    comment = comments.find_comment(comment_id, viewer(), for_update=for_update)
    if comment is None:
        raise NotFound("No such comment.")
    return comment


@blp.route("/posts/<reference>/comments")
@auth_optional
@blp.arguments(CommentListArgs, location="query", as_kwargs=False)
@conditional_list
@blp.response(200, page_of(CommentSchema))
def list_comments(args, reference):
    """A post's comments, oldest first."""
    post = post_or_404(reference)
    return paginate(Listing(comments.comments_on(post), Comment.id, COMMENT_SORTS), args)


@blp.route("/posts/<reference>/comments", methods=["POST"])
@auth_required()
@idempotent_create
@blp.arguments(CommentWriteSchema)
@blp.response(201, CommentSchema, headers={"Location": "Location"})
def add_comment(data, reference):
    """Comment on a post."""
    comment = comments.add_comment(post_or_404(reference), current_user, data["body"])
    location = url_for("api.get_comment", comment_id=comment.id, _external=True)
    return comment, 201, {"Location": location}


@blp.route("/comments/<int:comment_id>")
@auth_optional
@cacheable
@blp.response(200, CommentSchema)
def get_comment(comment_id):
    """Read a comment (if its post is visible to the caller)."""
    return versioned(comment_or_404(comment_id))


@blp.route("/comments/<int:comment_id>", methods=["PATCH"])
@auth_required()
@if_match
@problems(403)
@etagged
@blp.arguments(CommentWriteSchema)
@blp.response(200, CommentSchema)
def edit_comment(data, comment_id):
    """Edit a comment (its author only); honours If-Match."""
    comment = comment_or_404(comment_id, for_update=True)
    if comment.author_id != current_user.id:
        raise Forbidden("Only the author may edit a comment.")
    check_if_match(comment)
    comments.edit_comment(comment, data["body"])
    db.session.commit()
    return versioned(comments.reload(comment))


@blp.route("/comments/<int:comment_id>", methods=["DELETE"])
@auth_required()
@if_match
@problems(403)
@blp.response(204)
def delete_comment(comment_id):
    """Delete a comment (its author or an editor); honours If-Match."""
    comment = comment_or_404(comment_id, for_update=True)
    ensure_can_modify(current_user, comment.author_id)
    check_if_match(comment)
    if not comments.delete_comment(comment):
        raise StaleDataError("comment changed concurrently")
    db.session.commit()
