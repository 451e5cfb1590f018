"""Conduit profiles: a user's public face, and following them."""

from flask_jwt_extended import current_user
from werkzeug.exceptions import NotFound

from app.conduit import blp
from app.conduit.schemas import ConduitProfileResponseSchema
from app.core.openapi import problems
from app.core.permissions import auth_optional, auth_required, viewer
from app.extensions import db
from app.services import users


def profile_or_404(username):
    user = users.find_user(username, viewer())
    if user is None:
        raise NotFound("No such profile.")
    return user


@blp.route("/profiles/<username>")
@auth_optional
@blp.response(200, ConduitProfileResponseSchema)
def get_profile(username):
    """A user's profile, with whether the caller follows them."""
    return {"profile": profile_or_404(username)}


@blp.route("/profiles/<username>/follow", methods=["POST"])
@auth_required()
@blp.response(200, ConduitProfileResponseSchema)
@problems(422)
def follow(username):
    """Follow a user; doing it again changes nothing."""
    followee = profile_or_404(username)
    users.follow(current_user, followee)  # yourself: SelfFollow, a 422 (app.core.errors)
    db.session.commit()
    return {"profile": users.reload(followee, current_user)}


@blp.route("/profiles/<username>/follow", methods=["DELETE"])
@auth_required()
@blp.response(200, ConduitProfileResponseSchema)
def unfollow(username):
    """Stop following a user; doing it again changes nothing."""
    followee = profile_or_404(username)
    users.unfollow(current_user, followee)
    db.session.commit()
    return {"profile": users.reload(followee, current_user)}
