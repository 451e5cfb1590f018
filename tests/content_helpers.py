"""Small helpers for the content API tests: make data through the HTTP API.

Every helper asserts the status it expects, so a test that builds data on a
broken endpoint fails where the data is made, with the response body shown.
"""

import re

from tests.conftest import bearer, sign_up  # noqa: F401  (sign_up: re-exported for tests)

API = "/api/v1"

POST_FIELDS = {
    "id",
    "slug",
    "title",
    "summary",
    "body",
    "status",
    "category",
    "tags",
    "author",
    "favorites_count",
    "favorited",
    "comments_count",
    "created_at",
    "updated_at",
    "published_at",
}
LIST_ITEM_FIELDS = POST_FIELDS - {"body"}
AUTHOR_FIELDS = {"id", "username", "image"}
COMMENT_FIELDS = {"id", "body", "author", "post_id", "created_at", "updated_at"}
CATEGORY_FIELDS = {"id", "name", "slug", "description", "posts_count"}
PUBLIC_USER_FIELDS = {
    "id",
    "username",
    "full_name",
    "bio",
    "image",
    "created_at",
    "followers_count",
    "following_count",
    "following",
}


def create_post(client, headers, **fields):
    """POST /posts with a valid body (overridden by `fields`); the created post."""
    body = {"title": "A post", "body": "Some text.", **fields}
    response = client.post(f"{API}/posts", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def publish(client, headers, **fields):
    return create_post(client, headers, **{"status": "published", **fields})


def create_category(client, headers, name, **fields):
    response = client.post(f"{API}/categories", json={"name": name, **fields}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def add_comment(client, headers, post, body="Nice post."):
    """A comment on `post` (an id, slug or post dict)."""
    response = client.post(f"{post_url(post)}/comments", json={"body": body}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def favorite(client, headers, post):
    response = client.post(f"{post_url(post)}/favorite", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def follow(client, headers, username):
    response = client.post(f"{API}/users/{username}/follow", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def post_url(post):
    key = post["id"] if isinstance(post, dict) else post
    return f"{API}/posts/{key}"


def get_list(client, path, headers=None):
    """GET a list endpoint, asserting 200; the JSON envelope."""
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def titles(client, path, headers=None):
    return [item["title"] for item in get_list(client, path, headers)["items"]]


def links(response):
    """RFC 8288 Link header as {rel: url}."""
    return {
        rel: url
        for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers.get("Link", ""))
    }


def assert_problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == status
