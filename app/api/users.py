"""Users: administration (list, role and active flag)."""

from werkzeug.exceptions import NotFound

from app.api import blp
from app.core.pagination import PaginationArgs, page_of, paginate, sort_field
from app.core.permissions import auth_required
from app.extensions import db
from app.models import User
from app.schemas.user import AdminUserUpdateSchema, OwnUserSchema, UserListQuerySchema
from app.services import accounts

USER_SORTS = {"username": User.username, "created_at": User.created_at}


class UserListArgs(UserListQuerySchema, PaginationArgs):
    sort = sort_field(USER_SORTS, "username")


def user_or_404(username):
    user = accounts.find_by_username(username)
    if user is None:
        raise NotFound("No such user.")
    return user


@blp.route("/users")
@auth_required("admin")
@blp.arguments(UserListArgs, location="query", as_kwargs=False)
@blp.response(200, page_of(OwnUserSchema))
def list_users(args):
    """List accounts (admin): filter by role, active flag or a search string."""
    filters = {name: args[name] for name in ("role", "is_active", "q") if name in args}
    return paginate(
        accounts.users_query(**filters),
        args,
        sorts=USER_SORTS,
        id_column=User.id,
        key_of=lambda user, sort: getattr(user, sort),
    )


@blp.route("/users/<username>", methods=["PATCH"])
@auth_required("admin")
@blp.arguments(AdminUserUpdateSchema)
@blp.response(200, OwnUserSchema)
def administer_user(changes, username):
    """Change a user's role or active flag (admin); deactivation signs them out everywhere."""
    user = accounts.administer(user_or_404(username), changes)
    db.session.commit()
    return user
