"""Conduit's tokens live CONDUIT_TOKEN_SECONDS: RealWorld clients have no refresh."""

from datetime import timedelta

from flask_jwt_extended import decode_token

from app.extensions import db
from app.models import TokenFamily
from app.services import tokens
from tests.conduit_helpers import API, register
from tests.conftest import PASSWORD, bearer

WEEK = 7 * 24 * 3600


def lifetime(app, token):
    with app.app_context():
        claims = decode_token(token)
    return claims["exp"] - claims["iat"]


def conduit_login(client):
    body = {"user": {"email": "jake@example.com", "password": PASSWORD}}
    return client.post(f"{API}/users/login", json=body).get_json()["user"]["token"]


def test_conduit_tokens_last_a_week_by_default(app, client):
    assert lifetime(app, register(client, "jake")["token"]) == WEEK
    assert lifetime(app, conduit_login(client)) == WEEK


def test_folio_access_tokens_keep_their_own_lifetime(app, client, make_user, login):
    register(client, "jake")
    assert lifetime(app, login("jake")["access_token"]) == 900


def test_the_conduit_lifetime_is_a_setting(make_app):
    app = make_app(CONDUIT_TOKEN_SECONDS=3600)
    assert lifetime(app, register(app.test_client(), "jake")["token"]) == 3600


def test_a_long_lived_conduit_token_stays_revocable(client):
    token = register(client, "jake")["token"]
    assert client.post("/auth/logout", headers=bearer(token)).status_code == 204
    assert client.get(f"{API}/user", headers={"Authorization": f"Token {token}"}).status_code == 401


def test_the_family_outlives_a_conduit_token_longer_than_refresh(make_app):
    """Purging an expired family would refuse its tokens: it must not expire first."""
    app = make_app(CONDUIT_TOKEN_SECONDS=40 * 24 * 3600)
    register(app.test_client(), "jake")
    with app.app_context():
        family = db.session.scalar(db.select(TokenFamily))
        assert family.expires_at - tokens.utcnow() > timedelta(days=39)
