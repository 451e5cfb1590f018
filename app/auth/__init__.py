"""The auth blueprint (/auth): registration, login, token refresh and logout, the own account."""

from app.core.api import Blueprint

blp = Blueprint("auth", __name__, description="Accounts and tokens")

from app.auth import routes  # noqa: E402,F401  (registers the views on blp)
