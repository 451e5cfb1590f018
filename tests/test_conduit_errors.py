"""Conduit's error shape holds for every failure on its paths, and only there."""

from tests.conduit_helpers import API, assert_conduit_error, signed_up


def test_a_malformed_json_body_is_400_in_conduit_shape(client):
    response = client.post(f"{API}/users", data="{", content_type="application/json")
    assert_conduit_error(response, 400)


def test_a_body_that_is_not_json_is_415_in_conduit_shape(client):
    response = client.post(f"{API}/users", data="user=jake", content_type="text/plain")
    assert_conduit_error(response, 415)


def test_a_body_that_is_not_an_object_is_422_under_body(client):
    assert_conduit_error(client.post(f"{API}/users", json=["jake"]), 422, "body")


def test_nested_field_errors_are_keyed_by_dotted_path(client):
    jake = signed_up(client, "jake")
    article = {"title": "T", "description": "D", "body": "B", "tagList": ["ok", "bad,tag"]}
    response = client.post(f"{API}/articles", json={"article": article}, headers=jake)
    assert_conduit_error(response, 422, "tagList.1")


def test_unmatched_urls_and_methods_under_conduit_paths_are_conduit_shaped(client):
    assert_conduit_error(client.get(f"{API}/articles/x/comments/not-a-number"), 404)
    response = client.put(f"{API}/articles/feed", json={})
    assert_conduit_error(response, 405)
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


def test_other_blueprints_keep_problem_details(client):
    for path in ("/api/v1/nothing", "/api/nothing", "/auth/me"):
        response = client.get(path)
        assert response.mimetype == "application/problem+json", path


def test_errors_keep_the_request_id(client):
    response = client.get(f"{API}/user", headers={"X-Request-ID": "abc-123"})
    assert_conduit_error(response, 401)
    assert response.headers["X-Request-ID"] == "abc-123"


def test_a_nul_character_is_invalid_input_not_a_server_error(client):
    """PostgreSQL cannot store NUL; SQLite could, but the rule is the same on both."""
    jake = signed_up(client, "jake")
    article = {"title": "T", "description": "D", "body": "nul \x00 here"}
    response = client.post(f"{API}/articles", json={"article": article}, headers=jake)
    assert_conduit_error(response, 422, "body")
