"""The auth blueprint: registration, login, token refresh and logout, the own account."""

from flask_smorest import Blueprint

blp = Blueprint("auth", __name__, description="Accounts and tokens")
