"""GET /docs: an interactive page whose every file Folio serves itself.

tests/test_docs_browser.py opens it in a real browser; these tests check the
page and its policy without one.
"""

import re

import pytest

from app.ops.docs import CONTENT_SECURITY_POLICY

ASSET = re.compile(r'(?:src|href)="([^"]+)"')


@pytest.fixture
def page(client):
    return client.get("/docs")


def test_docs_page_is_html_with_a_self_only_policy(page):
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


def test_docs_page_has_no_inline_script(page):
    html = page.get_data(as_text=True)
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert "<style" not in html
    assert 'data-spec-url="/openapi.json"' in html


def test_every_file_the_page_needs_is_served_by_folio(page, client):
    assets = ASSET.findall(page.get_data(as_text=True))
    assert len(assets) == 5
    for url in assets:
        assert url.startswith("/docs/"), url
        with client.get(url) as response:  # a file response holds the file open until closed
            assert response.status_code == 200, url
            assert response.mimetype in {"text/css", "text/javascript", "image/png"}, url


def test_docs_page_matches_with_and_without_slash(client):
    assert client.get("/docs/").status_code == 200


@pytest.mark.parametrize("path", ["nope.js", "../flask_swagger_ui.py", "%2e%2e/__init__.py"])
def test_only_swagger_ui_files_are_served(client, path):
    response = client.get(f"/docs/swagger-ui/{path}")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_docs_page_is_not_an_api_operation(make_app):
    spec = make_app().test_client().get("/openapi.json").get_json()
    assert not [path for path in spec["paths"] if path.startswith("/docs")]
