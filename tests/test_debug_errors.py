"""FLASK_DEBUG=1: unexpected exceptions reach the debugger, HTTP errors stay problems."""

import pytest


class Exploded(Exception):
    pass


def explode():
    raise Exploded("a bug in a view")


def app_with_a_bug(make_app, **settings):
    app = make_app(**settings)
    app.add_url_rule("/explode", "explode", explode)
    return app


def test_a_debug_app_lets_an_unexpected_exception_reach_the_debugger(make_app):
    client = app_with_a_bug(make_app, DEBUG=True).test_client()
    with pytest.raises(Exploded, match="a bug in a view"):
        client.get("/explode")


def test_a_request_that_went_to_the_debugger_still_has_its_access_line(make_app, caplog):
    client = app_with_a_bug(make_app, DEBUG=True).test_client()
    with pytest.raises(Exploded):
        client.get("/explode", headers={"X-Request-ID": "bug-1"})
    [line] = [r for r in caplog.records if r.name == "folio.access"]
    assert (line.path, line.status, line.request_id) == ("/explode", 500, "bug-1")


def test_without_debug_an_unexpected_exception_is_a_500_problem(make_app):
    response = app_with_a_bug(make_app).test_client().get("/explode")
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert "a bug" not in response.get_data(as_text=True)


def test_a_debug_app_can_keep_the_500_when_propagation_is_turned_off(make_app):
    app = app_with_a_bug(make_app, DEBUG=True, PROPAGATE_EXCEPTIONS=False)
    assert app.test_client().get("/explode").status_code == 500


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/api/v1/posts/999999", 404), ("POST", "/auth/register", 422)],
)
def test_a_debug_app_still_answers_http_errors_as_problems(make_app, method, path, status):
    client = make_app(DEBUG=True).test_client()
    response = client.open(path, method=method, json={})
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
