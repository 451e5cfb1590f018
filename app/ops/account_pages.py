"""/account/reset-password and /account/verify-email: the pages account mail links to
when PASSWORD_RESET_URL and EMAIL_VERIFY_URL are not set.

The client app owns these screens in production; these two small pages make
the flow work end to end without one (`make run`). Each reads the token from
its query string in the browser and POSTs it to the API: the server never
puts the token in a page. Like /docs, an HTML page, so not in the spec; its
script is a file from this origin, which the page's policy allows.
"""

from flask import Blueprint, make_response, render_template

from app.core.caching import NO_STORE

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)

blp = Blueprint(
    "account_pages",
    __name__,
    url_prefix="/account",
    static_folder="static/account",
    static_url_path="/static",
    template_folder="templates",
)


def page(template):
    response = make_response(render_template(template))
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Cache-Control"] = NO_STORE
    return response


@blp.get("/reset-password")
def reset_page():
    return page("account/reset_password.html")


@blp.get("/verify-email")
def verify_page():
    return page("account/verify_email.html")
