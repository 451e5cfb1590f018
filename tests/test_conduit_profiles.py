"""Conduit profiles: GET /api/profiles/{username}, POST and DELETE .../follow."""

from tests.conduit_helpers import API, PROFILE_FIELDS, assert_conduit_error, get_ok, signed_up


def test_a_profile_shows_public_fields_and_following_false_anonymously(client):
    signed_up(client, "jake")
    profile = get_ok(client, "/profiles/JAKE")["profile"]
    assert set(profile) == PROFILE_FIELDS
    assert (profile["username"], profile["following"]) == ("jake", False)


def test_an_unknown_profile_is_404(client):
    assert_conduit_error(client.get(f"{API}/profiles/nobody"), 404)


def test_follow_and_unfollow_answer_the_profile_and_are_idempotent(client):
    signed_up(client, "celeb")
    fan = signed_up(client, "fan")
    for _ in range(2):
        response = client.post(f"{API}/profiles/celeb/follow", headers=fan)
        assert response.status_code == 200
        assert response.get_json()["profile"]["following"] is True
    assert get_ok(client, "/profiles/celeb", fan)["profile"]["following"] is True
    for _ in range(2):
        response = client.delete(f"{API}/profiles/celeb/follow", headers=fan)
        assert response.get_json()["profile"]["following"] is False


def test_follow_ignores_a_body_the_official_collection_sends(client):
    signed_up(client, "celeb")
    fan = signed_up(client, "fan")
    body = {"user": {"email": "fan@example.com"}}
    response = client.post(f"{API}/profiles/celeb/follow", json=body, headers=fan)
    assert response.status_code == 200


def test_following_yourself_is_422(client):
    jake = signed_up(client, "jake")
    assert_conduit_error(client.post(f"{API}/profiles/jake/follow", headers=jake), 422)


def test_follow_needs_a_token(client):
    signed_up(client, "celeb")
    assert_conduit_error(client.post(f"{API}/profiles/celeb/follow"), 401)
    assert_conduit_error(client.delete(f"{API}/profiles/celeb/follow"), 401)


def test_following_someone_unknown_is_404(client):
    fan = signed_up(client, "fan")
    assert_conduit_error(client.post(f"{API}/profiles/nobody/follow", headers=fan), 404)
