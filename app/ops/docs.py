"""GET /docs: Swagger UI on Folio's own spec, working with no internet access.

Swagger UI's JavaScript and CSS come from the pinned flask-swagger-ui package,
whose `dist/` folder is Swagger UI's own build, and Folio serves them itself.
Folio uses those files but not that package's blueprint: its page starts
Swagger UI with an inline script, which the page's Content-Security-Policy
would have to allow. Folio's page loads `static/docs/start.js` instead, so
the policy allows scripts, styles and requests from this origin only (images
also as `data:` URLs, which Swagger UI's stylesheet uses for its icons).
"""

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, make_response, render_template, send_from_directory, url_for

SWAGGER_UI_DIST = Path(flask_swagger_ui.__file__).parent / "dist"
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)

blp = Blueprint(
    "docs",
    __name__,
    url_prefix="/docs",
    static_folder="static/docs",
    static_url_path="/static",
    template_folder="templates",
)


@blp.get("")
def docs_page():
    """The interactive docs page; Swagger UI fetches the spec from /openapi.json."""
    page = render_template("docs/index.html", spec_url=url_for("api-docs.openapi_json"))
    response = make_response(page)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


@blp.get("/swagger-ui/<path:filename>")
def swagger_ui_asset(filename):
    """A file of Swagger UI's build (send_from_directory refuses paths outside it)."""
    return send_from_directory(SWAGGER_UI_DIST, filename)
