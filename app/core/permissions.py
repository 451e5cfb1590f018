"""Who may do what: one small layer every blueprint uses.

- `auth_required()` / `auth_required("editor")`: a valid access token (401
  otherwise) whose user has at least that role (403 otherwise). It also marks
  the operation as bearer-protected in the OpenAPI document.
- `auth_optional()`: a token is read when present (and must then be valid), so
  views can show viewer flags and drafts to their owners.
- `ensure_can_modify(owner_id, role)`: the owner, or someone with `role` or
  above; 403 otherwise.

A resource the caller may not see (someone else's draft) is 404, not 403, so
its existence is not revealed: the services' visibility filters do that.

Roles rank admin > editor > author.
"""

from functools import wraps

from flask_jwt_extended import current_user, get_jwt, verify_jwt_in_request
from flask_smorest import Blueprint
from werkzeug.exceptions import Forbidden

from app.core.openapi import BEARER, bearer_auth, problems


def auth_required(role=None):
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            verify_jwt_in_request()
            if role is not None and not current_user.has_role(role):
                raise Forbidden(f"This needs the {role} role or above.")
            return view(*args, **kwargs)

        documented = bearer_auth(wrapper)
        return problems(403)(documented) if role is not None else documented

    return decorator


def auth_optional(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        verify_jwt_in_request(optional=True)
        return view(*args, **kwargs)

    # Anonymous or bearer: a token, when sent, must be valid (else 401).
    return problems(401)(Blueprint.doc(security=[{}, {BEARER: []}])(wrapper))


def viewer():
    """The signed-in user, or None on an anonymous request.

    The token is checked once per request: when a decorator above already
    verified it, its claims are reused rather than checked (and the user and
    revocation looked up) again.
    """
    try:
        claims = get_jwt()
    except RuntimeError:  # nothing verified the token yet in this request
        verify_jwt_in_request(optional=True)
        claims = get_jwt()
    return current_user if claims else None


def ensure_can_modify(user, owner_id, role="editor"):
    if user.id != owner_id and not user.has_role(role):
        raise Forbidden("Only the owner or an editor may change this.")
