"""TRUSTED_HOSTS: the Host header is reflected in Link and Location, so only named hosts pass.

Production must name them; development and testing trust any host when unset.
A request for another host is answered 400 problem details and changes nothing.
"""

import pytest
from sqlalchemy import func, select

import config
from app.extensions import db
from app.models import Post
from config import ConfigError, DevelopmentConfig, ProductionConfig
from tests.content_helpers import API, publish

STRONG = "s" * 32
PRODUCTION = {"SECRET_KEY": STRONG, "JWT_SECRET_KEY": STRONG, "DATABASE_URL": "sqlite://"}


def test_production_needs_trusted_hosts_to_serve():
    with pytest.raises(ConfigError, match=r"^Set TRUSTED_HOSTS to the host names clients use"):
        ProductionConfig(PRODUCTION).validate()


def test_commands_that_serve_nothing_need_no_trusted_hosts():
    ProductionConfig(PRODUCTION).validate(serving=False)


def test_development_and_testing_trust_any_host_when_unset():
    assert DevelopmentConfig({}).TRUSTED_HOSTS is None
    assert config.TestingConfig({}).TRUSTED_HOSTS is None


def test_trusted_hosts_are_a_comma_separated_list():
    hosts = ProductionConfig({**PRODUCTION, "TRUSTED_HOSTS": " api.example.com, .example.org,, "})
    assert hosts.TRUSTED_HOSTS == ["api.example.com", ".example.org"]


@pytest.mark.parametrize("entry", ["https://api.example.com", "*", "api.example.com/v1", "a b"])
def test_an_entry_that_is_not_a_host_name_is_refused(entry):
    with pytest.raises(ConfigError, match=r"^TRUSTED_HOSTS entries must be host names"):
        ProductionConfig({**PRODUCTION, "TRUSTED_HOSTS": f"api.example.com,{entry}"})


@pytest.fixture
def guarded(make_app):
    return make_app(TRUSTED_HOSTS=["api.example.com", ".example.org"])


def call(app, host, method, path, **options):
    """A request whose Host header is `host`, as a client or an attacker would send it."""
    return app.test_client().open(path, method=method, base_url=f"http://{host}", **options)


def test_an_untrusted_host_is_refused_with_problem_details(guarded, client, alice):
    publish(client, alice, title="One")
    publish(client, alice, title="Two")
    response = call(guarded, "evil.example", "GET", f"{API}/posts?per_page=1")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 400
    assert "Link" not in response.headers and "Location" not in response.headers


def test_an_untrusted_host_changes_nothing(guarded, app, alice):
    body = {"title": "Planted", "body": "Some text."}
    response = call(guarded, "evil.example", "POST", f"{API}/posts", json=body, headers=alice)
    assert response.status_code == 400
    assert "Location" not in response.headers
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Post)) == 0


def test_a_trusted_host_is_answered_and_named_in_links(guarded, client, alice):
    publish(client, alice, title="One")
    publish(client, alice, title="Two")
    response = call(guarded, "api.example.com:8443", "GET", f"{API}/posts?per_page=1")
    assert response.status_code == 200
    assert "<http://api.example.com:8443/api/v1/posts?" in response.headers["Link"]


@pytest.mark.parametrize(
    ("host", "status"),
    [("example.org", 200), ("eu.example.org", 200), ("example.org.evil.example", 400)],
)
def test_a_leading_dot_trusts_every_subdomain(guarded, host, status):
    assert call(guarded, host, "GET", "/health").status_code == status
