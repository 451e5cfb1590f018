"""Who may keep an answer: shared caches for public reads, the caller's own cache
for answers shaped by a token, nobody for tokens and the own account."""

from app.core.caching import PRIVATE, PUBLIC
from tests.content_helpers import API, post_url, publish


def vary(response):
    return {value.strip() for value in response.headers.get("Vary", "").split(",") if value}


def test_public_reads_may_be_kept_by_shared_caches_but_vary_on_the_token(client, alice):
    post = publish(client, alice)
    for path in (f"{API}/posts", post_url(post), f"{API}/posts/{post['slug']}/comments"):
        response = client.get(path)
        assert response.headers["Cache-Control"] == PUBLIC, path
        assert "Authorization" in vary(response), path


def test_answers_shaped_by_a_token_are_private(client, alice):
    post = publish(client, alice)
    for path in (f"{API}/posts", post_url(post), f"{API}/posts?drafts=true", f"{API}/feed"):
        response = client.get(path, headers=alice)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == PRIVATE, path
        assert "Authorization" in vary(response), path


def test_lists_that_read_no_token_are_public_whoever_asks(client, alice):
    for path in (f"{API}/tags", f"{API}/categories", "/api/tags"):
        response = client.get(path, headers=alice)
        assert response.headers["Cache-Control"] == PUBLIC, path
        assert "Authorization" not in vary(response), path


def test_a_304_says_the_same(client, alice):
    publish(client, alice)
    tag = client.get(f"{API}/posts", headers=alice).headers["ETag"]
    response = client.get(f"{API}/posts", headers={**alice, "If-None-Match": tag})
    assert response.status_code == 304
    assert response.headers["Cache-Control"] == PRIVATE
    assert "Authorization" in vary(response)


def test_the_own_account_is_never_stored(client, alice):
    response = client.get("/auth/me", headers=alice)
    assert response.headers["Cache-Control"] == "no-store"


def test_errors_carry_no_caching_permission(client):
    response = client.get(f"{API}/posts/no-such-post")
    assert response.status_code == 404
    assert response.headers.get("Cache-Control") != PUBLIC
