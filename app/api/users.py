"""Users: public profiles, follows, and administration (list, role, active flag)."""

from flask_jwt_extended import current_user
from werkzeug.exceptions import Conflict, NotFound

from app.api import blp
from app.core.conditional import cacheable, conditional_list
from app.core.openapi import problems
from app.core.paging import paginate
from app.core.permissions import auth_optional, auth_required, viewer
from app.extensions import db
from app.models import User
from app.schemas.pagination import PaginationArgs, page_of, sort_field
from app.schemas.user import (
    AdminUserUpdateSchema,
    OwnUserSchema,
    PublicUserSchema,
    UserListQuerySchema,
)
from app.services import accounts, users
from app.services.listing import Listing

LAST_ADMIN = "This is the last active admin: make another admin first."
USER_SORTS = {"username": User.username, "created_at": User.created_at}


class UserListArgs(UserListQuerySchema, PaginationArgs):
    sort = sort_field(USER_SORTS, "username")


class FollowListArgs(PaginationArgs):
    sort = sort_field(USER_SORTS, "username")


def user_or_404(username):
    user = users.find_user(username, viewer())
    if user is None:
        raise NotFound("No such user.")
    return user


@blp.route("/users")
@auth_required("admin")
@blp.arguments(UserListArgs, location="query", as_kwargs=False)
@conditional_list
@blp.response(200, page_of(OwnUserSchema))
def list_users(args):
    """List accounts (admin): filter by role, active flag or a search string."""
    filters = {name: args[name] for name in ("role", "is_active", "q") if name in args}
    query = accounts.users_query(current_user, **filters)
    return paginate(Listing(query, User.id, USER_SORTS), args)


@blp.route("/users/<username>")
@auth_optional
@cacheable
@blp.response(200, PublicUserSchema)
def get_user(username):
    """A user's public profile."""
    return user_or_404(username)


@blp.route("/users/<username>", methods=["PATCH"])
@auth_required("admin")
@blp.arguments(AdminUserUpdateSchema)
@blp.response(200, OwnUserSchema)
@problems(409)
def administer_user(changes, username):
    """Change a user's role or active flag (admin); deactivation signs them out everywhere.

    Demoting or deactivating the last active admin is refused with 409.
    """
    try:
        user = accounts.administer(user_or_404(username), changes)
    except accounts.LastAdmin:
        raise Conflict(LAST_ADMIN) from None
    db.session.commit()
    return users.reload(user, current_user)


@blp.route("/users/<username>/follow", methods=["POST"])
@auth_required()
@blp.response(200, PublicUserSchema)
@problems(422)
def follow(username):
    """Follow a user; doing it again changes nothing."""
    followee = user_or_404(username)
    users.follow(current_user, followee)  # yourself: SelfFollow, a 422 (app.core.errors)
    db.session.commit()
    return users.reload(followee, current_user)


@blp.route("/users/<username>/follow", methods=["DELETE"])
@auth_required()
@blp.response(200, PublicUserSchema)
def unfollow(username):
    """Stop following a user; doing it again changes nothing."""
    followee = user_or_404(username)
    users.unfollow(current_user, followee)
    db.session.commit()
    return users.reload(followee, current_user)


@blp.route("/users/<username>/followers")
@auth_optional
@blp.arguments(FollowListArgs, location="query", as_kwargs=False)
@conditional_list
@blp.response(200, page_of(PublicUserSchema))
def followers(args, username):
    """Who follows this user."""
    query = users.followers_of(user_or_404(username), viewer())
    return paginate(Listing(query, User.id, USER_SORTS), args)


@blp.route("/users/<username>/following")
@auth_optional
@blp.arguments(FollowListArgs, location="query", as_kwargs=False)
@conditional_list
@blp.response(200, page_of(PublicUserSchema))
def following(args, username):
    """Whom this user follows."""
    query = users.followed_by(user_or_404(username), viewer())
    return paginate(Listing(query, User.id, USER_SORTS), args)
