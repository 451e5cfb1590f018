"""Tokens that must not work: forged, tampered, expired, unsigned, revoked, wrong type."""

import base64
import json
from datetime import timedelta

import jwt as pyjwt
import pytest
from flask_jwt_extended import create_access_token, decode_token

from app.extensions import db
from app.models import RevokedToken, TokenFamily
from app.services import tokens
from tests.conftest import bearer


@pytest.fixture
def alice(make_user, login):
    make_user("alice")
    return login("alice")


def claims_of(app, token):
    with app.app_context():
        return decode_token(token)


def assert_refused(client, token):
    response = client.get("/auth/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.mimetype == "application/problem+json"


def test_claims_carry_type_jti_and_family(app, alice):
    access, refresh = claims_of(app, alice["access_token"]), claims_of(app, alice["refresh_token"])
    assert access["type"] == "access" and refresh["type"] == "refresh"
    assert access["jti"] != refresh["jti"]
    assert access["fam"] == refresh["fam"]
    assert access["sub"] == refresh["sub"] == "1"
    assert access["exp"] - access["iat"] == 900
    assert refresh["exp"] - refresh["iat"] == 30 * 24 * 3600


def test_token_signed_with_another_key_is_refused(app, client, alice):
    claims = claims_of(app, alice["access_token"])
    forged = pyjwt.encode(claims, "another-secret-key-of-at-least-32-bytes!!", algorithm="HS256")
    assert_refused(client, forged)


def test_unsigned_alg_none_token_is_refused(app, client, alice):
    claims = claims_of(app, alice["access_token"])
    unsigned = pyjwt.encode(claims, None, algorithm="none")
    assert_refused(client, unsigned)


def test_tampered_claims_are_refused(app, client, alice, make_user):
    make_user("mallory", role="admin")
    header, payload, signature = alice["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "2"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert_refused(client, f"{header}.{forged_payload}.{signature}")


def test_expired_token_is_refused(app, client, alice):
    family = claims_of(app, alice["access_token"])["fam"]
    with app.app_context():
        expired = create_access_token(
            "1", expires_delta=timedelta(seconds=-5), additional_claims={"fam": family}
        )
    assert_refused(client, expired)


def test_token_from_an_unknown_family_is_refused(app, client, alice):
    with app.app_context():
        stray = create_access_token("1", additional_claims={"fam": "not-a-family"})
    assert_refused(client, stray)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer", "x" * 5000])
def test_malformed_tokens_are_401_problems(client, garbage):
    response = client.get("/auth/me", headers={"Authorization": f"Bearer {garbage}"})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_wrong_scheme_is_401(client, alice):
    response = client.get("/auth/me", headers={"Authorization": f"Basic {alice['access_token']}"})
    assert response.status_code == 401


def test_asymmetric_algorithm_reads_key_files(make_app, tmp_path, make_user):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private = tmp_path / "private.pem"
    public = tmp_path / "public.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    app = make_app(
        JWT_ALGORITHM="ES256", JWT_PRIVATE_KEY_FILE=str(private), JWT_PUBLIC_KEY_FILE=str(public)
    )
    make_user("alice")
    client = app.test_client()
    pair = client.post(
        "/auth/login", json={"login": "alice", "password": "correct horse battery staple"}
    )
    token = pair.get_json()["access_token"]
    assert pyjwt.get_unverified_header(token)["alg"] == "ES256"
    assert client.get("/auth/me", headers=bearer(token)).status_code == 200
    # an HS256 token made with the shared secret is refused: the algorithm is pinned
    hs = pyjwt.encode(
        pyjwt.decode(token, options={"verify_signature": False}), app.config["JWT_SECRET_KEY"]
    )
    assert client.get("/auth/me", headers=bearer(hs)).status_code == 401


def test_purge_removes_only_expired_rows(app, alice, client):
    client.post("/auth/refresh", headers=bearer(alice["refresh_token"]))
    with app.app_context():
        assert tokens.purge_expired() == 0
        later = tokens.utcnow() + timedelta(days=31)
        assert tokens.purge_expired(now=later) == 2  # the spent refresh jti and the family
        assert db.session.query(RevokedToken).count() == 0
        assert db.session.query(TokenFamily).count() == 0
