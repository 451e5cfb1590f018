"""Helpers for the Conduit (/api) tests: data made through the Conduit API itself.

Like tests/content_helpers.py, each helper asserts the status it expects, so a
test fails where its data is made, with the response body shown.
"""

import re

from tests.conftest import PASSWORD

API = "/api"
# Conduit's timestamps: ISO 8601 in UTC, always with milliseconds (the collection's check).
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
PROFILE_FIELDS = {"username", "bio", "image", "following"}
USER_FIELDS = {"email", "token", "username", "bio", "image"}
LIST_ITEM_FIELDS = {
    "slug",
    "title",
    "description",
    "tagList",
    "createdAt",
    "updatedAt",
    "favorited",
    "favoritesCount",
    "author",
}
ARTICLE_FIELDS = LIST_ITEM_FIELDS | {"body"}
COMMENT_FIELDS = {"id", "createdAt", "updatedAt", "body", "author"}


def token_header(token):
    return {"Authorization": f"Token {token}"}


def register(client, username, password=PASSWORD):
    """A new account through POST /api/users; its `user` object (with the token)."""
    body = {
        "user": {"username": username, "email": f"{username}@example.com", "password": password}
    }
    response = client.post(f"{API}/users", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["user"]


def signed_up(client, username):
    """A new account's `Authorization: Token ...` headers."""
    return token_header(register(client, username)["token"])


def write_article(client, headers, title="How to train your dragon", **fields):
    """POST /api/articles with a valid body (overridden by `fields`); the article."""
    article = {"title": title, "description": "Ever wonder how?", "body": "Carefully.", **fields}
    response = client.post(f"{API}/articles", json={"article": article}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["article"]


def comment_on(client, headers, slug, body="Thank you so much!"):
    url = f"{API}/articles/{slug}/comments"
    response = client.post(url, json={"comment": {"body": body}}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["comment"]


def get_ok(client, path, headers=None):
    response = client.get(f"{API}{path}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def assert_conduit_error(response, status, field="body"):
    """A Conduit error: the status, JSON (not problem details), `errors` keyed by `field`."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    errors = response.get_json()["errors"]
    assert isinstance(errors[field], list) and errors[field], errors
    return errors
