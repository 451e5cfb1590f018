"""Comments on posts."""

from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Comment
from app.services.posts import MAX_ID, can_see


def comments_query():
    return select(Comment).options(joinedload(Comment.author))


def comments_on(post):
    return comments_query().where(Comment.post_id == post.id)


def find_comment(comment_id, viewer, *, for_update=False):
    """The comment, if its post is one the viewer may see."""
    if comment_id > MAX_ID:
        return None
    query = comments_query().options(joinedload(Comment.post)).where(Comment.id == comment_id)
    if for_update:
        query = query.with_for_update(of=Comment)
    comment = db.session.scalars(query).unique().one_or_none()
    return comment if comment is not None and can_see(viewer, comment.post) else None


def add_comment(post, author, body):
    comment = Comment(post_id=post.id, author=author, body=body)
    db.session.add(comment)
    db.session.flush()
    return comment


def edit_comment(comment, body):
    comment.body = body
    db.session.flush()
    return comment


def reload(comment):
    query = comments_query().where(Comment.id == comment.id)
    return db.session.scalars(query.execution_options(populate_existing=True)).unique().one()


def delete_comment(comment):
    result = db.session.execute(
        delete(Comment).where(Comment.id == comment.id, Comment.version == comment.version)
    )
    return result.rowcount == 1
