"""Schemathesis's admin: a token pair issued by the app's own service, as login would.

Signing in through `POST /auth/login` does not last a run: Schemathesis calls
`POST /auth/logout` with the token it holds (revoking it), and Conduit's
`PUT /api/user` may change the admin's username or password. A token names
its user by id, so one issued here keeps working through all of that, and a
new one is issued whenever an answer is 401.

In-process, the provider uses the app under test (`context.app`). The CLI
loads this module as its hooks (`SCHEMATHESIS_HOOKS=tests.schemathesis_auth`)
and registers the provider for every operation; the app is then built from
the same environment as the server under test, so it reaches the same
database with the same JWT secret.
"""

import os

import schemathesis
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import User
from app.services import tokens


class AdminToken:
    """An access token of the first active admin."""

    def __init__(self):
        self.own_app = None

    def app(self, context):
        if context.app is not None:
            return context.app
        if self.own_app is None:
            self.own_app = create_app()
        return self.own_app

    def get(self, case, context):
        with self.app(context).app_context():
            admin = db.session.scalar(
                select(User).where(User.role == "admin", User.is_active).order_by(User.id)
            )
            pair = tokens.issue_pair(admin)  # the last active admin stays one (accounts.py)
            db.session.commit()
            return pair["access_token"]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


if os.environ.get("SCHEMATHESIS_HOOKS") == __name__:
    schemathesis.auth()(AdminToken)
