"""A request's bearer token is decoded once (app/core/jwt_decoding.py), though
both the rate limiter's key and the view's verification read it.

One decode fewer per signed-in request: a signed-in single post went from
about 8.6 to 7.5 million instructions a request (bench/instructions.py, callgrind).
"""

from flask_jwt_extended import JWTManager, get_jwt, verify_jwt_in_request

from app.core.rate_limits import client_key
from tests.content_helpers import post_url, publish


def count_decodes(monkeypatch):
    calls = []
    decode = JWTManager._decode_jwt_from_config

    def counting(self, *args, **kwargs):
        calls.append(args[0])
        return decode(self, *args, **kwargs)

    monkeypatch.setattr(JWTManager, "_decode_jwt_from_config", counting)
    return calls


def test_the_limiters_key_and_the_views_check_decode_the_token_once(app, alice, monkeypatch):
    calls = count_decodes(monkeypatch)
    with app.test_request_context(headers=alice):
        assert client_key().startswith("user:")  # before the view, as Flask-Limiter asks
        verify_jwt_in_request()
        assert get_jwt()["type"] == "access"
    assert len(calls) == 1
    with app.test_request_context(headers=alice):  # a new request decodes again
        verify_jwt_in_request()
    assert len(calls) == 2


def test_an_invalid_token_is_refused_on_every_request(client, alice):
    post = publish(client, alice)
    broken = {"Authorization": alice["Authorization"][:-2] + "xx"}
    for _ in range(2):
        response = client.get(post_url(post), headers=broken)
        assert response.status_code == 401
        assert response.get_json()["detail"] == "The token is invalid."
