"""Users as others see them: counts, the viewer's `following` flag, and follows."""

from sqlalchemy import delete, exists, false, func, select
from sqlalchemy.orm import with_expression

from app.core.clock import utcnow
from app.core.database import insert_ignoring_duplicates
from app.core.errors import RuleViolation
from app.extensions import db
from app.models import Follow, User


class SelfFollow(RuleViolation):
    detail = "You cannot follow yourself."


def with_counts(query, viewer):
    """Add follower counts and the viewer's flag, computed in the same SELECT."""
    followers = select(func.count()).where(Follow.followee_id == User.id).scalar_subquery()
    following = select(func.count()).where(Follow.follower_id == User.id).scalar_subquery()
    if viewer is None:
        followed = false()
    else:
        followed = exists().where(Follow.follower_id == viewer.id, Follow.followee_id == User.id)
    return query.options(
        with_expression(User.followers_count, followers),
        with_expression(User.following_count, following),
        with_expression(User.following, followed),
    )


def find_user(username, viewer):
    query = with_counts(select(User), viewer).where(func.lower(User.username) == username.lower())
    return db.session.scalar(query.execution_options(populate_existing=True))


def reload(user, viewer):
    query = with_counts(select(User), viewer).where(User.id == user.id)
    return db.session.scalar(query.execution_options(populate_existing=True))


def reload_all(people, viewer):
    """`reload` for many users in one query: the authors on a page of posts or comments."""
    ids = {person.id for person in people}
    if not ids:
        return []
    query = with_counts(select(User), viewer).where(User.id.in_(ids))
    return db.session.scalars(query.execution_options(populate_existing=True)).all()


def follow(follower, followee):
    if follower.id == followee.id:
        raise SelfFollow
    insert_ignoring_duplicates(
        db.session, Follow, follower_id=follower.id, followee_id=followee.id, created_at=utcnow()
    )


def unfollow(follower, followee):
    db.session.execute(
        delete(Follow).where(Follow.follower_id == follower.id, Follow.followee_id == followee.id)
    )


def followers_of(user, viewer):
    """Users who follow `user`, as a query the pagination helper can order."""
    fans = select(Follow.follower_id).where(Follow.followee_id == user.id)
    return with_counts(select(User).where(User.id.in_(fans)), viewer)


def followed_by(user, viewer):
    idols = select(Follow.followee_id).where(Follow.follower_id == user.id)
    return with_counts(select(User).where(User.id.in_(idols)), viewer)
