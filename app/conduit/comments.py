"""Conduit comments on articles: listed, written and deleted."""

from flask_jwt_extended import current_user
from sqlalchemy.orm.exc import StaleDataError

from app.conduit import blp
from app.conduit.lookup import article_or_404, comment_or_404, comments_shown
from app.conduit.schemas import (
    ConduitCommentListResponseSchema,
    ConduitCommentResponseSchema,
    ConduitNewCommentRequestSchema,
)
from app.core.conditional import conditional_list
from app.core.openapi import problems
from app.core.permissions import auth_optional, auth_required, ensure_can_modify, viewer
from app.extensions import db
from app.models import Comment
from app.services import comments
from app.services.listing import window

# Conduit's comment list has no paging; past this many, the oldest are shown.
MAX_COMMENTS = 500


@blp.route("/articles/<article_slug:slug>/comments")
@auth_optional
@conditional_list
@blp.response(200, ConduitCommentListResponseSchema)
def list_comments(slug):
    """An article's comments, oldest first (at most 500)."""
    user = viewer()
    query = comments.comments_on(article_or_404(slug, user))
    found = window(query, Comment.created_at, Comment.id, limit=MAX_COMMENTS)
    return {"comments": comments_shown(found, user)}


@blp.route("/articles/<article_slug:slug>/comments", methods=["POST"])
@auth_required()
@blp.arguments(ConduitNewCommentRequestSchema)
@blp.response(200, ConduitCommentResponseSchema)
def add_comment(data, slug):
    """Comment on an article (200, as Conduit's spec says, not 201)."""
    post = article_or_404(slug, current_user)
    comment = comments.add_comment(post, current_user, data["comment"]["body"])
    db.session.commit()
    return {"comment": comments_shown([comments.reload(comment)], current_user)[0]}


@blp.route("/articles/<article_slug:slug>/comments/<int:comment_id>", methods=["DELETE"])
@auth_required()
@blp.response(204)
@problems(403)
def delete_comment(slug, comment_id):
    """Delete a comment (its author or an editor)."""
    comment = comment_or_404(article_or_404(slug, current_user), comment_id, current_user)
    ensure_can_modify(current_user, comment.author_id)
    if not comments.delete_comment(comment):
        raise StaleDataError("comment changed concurrently")
    db.session.commit()
