"""gzip in the app (app/core/compression.py): JSON above a kilobyte, when asked."""

import gzip
import json

import pytest

from tests.content_helpers import API, post_url, publish

GZIP = {"Accept-Encoding": "gzip, deflate, br"}


@pytest.fixture
def posts(client, alice):
    return [publish(client, alice, title=f"Post {n}", summary="s" * 200) for n in range(10)]


def test_a_large_json_answer_is_gzipped_when_the_client_accepts_it(client, posts):
    plain = client.get(f"{API}/posts")
    packed = client.get(f"{API}/posts", headers=GZIP)
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(packed.data)) == plain.get_json()
    assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data) / 3
    for response in (plain, packed):
        assert "Accept-Encoding" in response.headers["Vary"]
        assert "Authorization" in response.headers["Vary"]


def test_small_bodies_304s_and_head_are_left_alone(client, posts):
    assert "Content-Encoding" not in client.get("/health", headers=GZIP).headers
    tag = client.get(f"{API}/posts", headers=GZIP).headers["ETag"]
    not_modified = client.get(f"{API}/posts", headers={**GZIP, "If-None-Match": tag})
    assert not_modified.status_code == 304
    assert "Content-Encoding" not in not_modified.headers
    assert "Accept-Encoding" in not_modified.headers["Vary"]  # as its 200 would say
    assert "Content-Encoding" not in client.head(f"{API}/posts", headers=GZIP).headers


def test_a_client_that_refuses_gzip_gets_identity(client, posts):
    response = client.get(f"{API}/posts", headers={"Accept-Encoding": "gzip;q=0, br"})
    assert "Content-Encoding" not in response.headers


def test_a_compressed_strong_tag_differs_and_still_revalidates(client, alice):
    post = publish(client, alice, body="b" * 4000)
    plain = client.get(post_url(post)).headers["ETag"]
    packed = client.get(post_url(post), headers=GZIP).headers["ETag"]
    assert packed != plain and packed.endswith('-gzip"') and not packed.startswith("W/")
    assert client.get(post_url(post), headers={"If-None-Match": packed}).status_code == 304
    edited = client.patch(
        post_url(post), json={"title": "Edited"}, headers={**alice, "If-Match": packed}
    )
    assert edited.status_code == 200


def test_app_compress_false_turns_it_off(make_app, posts):
    client = make_app(APP_COMPRESS=False).test_client()
    assert "Content-Encoding" not in client.get(f"{API}/posts", headers=GZIP).headers
