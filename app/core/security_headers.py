"""Security headers on every response, errors and preflights included.

The defaults suit a JSON API: nothing in a response may load, run or frame
anything (`default-src 'none'; frame-ancestors 'none'`), browsers must not
sniff a JSON body into HTML, and no Referer leaks to other sites. HSTS is sent
when the service is served over HTTPS (`PREFERRED_URL_SCHEME=https`).

Each header is only set when the response does not carry it already, so a
view or a blueprint that serves something else (the HTML docs page needs
scripts and styles) sets its own Content-Security-Policy, in the view or in
the blueprint's own `after_request`, and keeps it: blueprint hooks run before
this application-wide one.
"""

JSON_API_CSP = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"

DEFAULT_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": JSON_API_CSP,
}


def security_headers(config):
    """The headers this application adds, decided once from its configuration."""
    headers = dict(DEFAULT_HEADERS)
    if config["PREFERRED_URL_SCHEME"] == "https":
        headers["Strict-Transport-Security"] = HSTS
    return headers


def init_security_headers(app):
    if "security_headers" in app.config["BENCH_LAYERS_OFF"]:  # bench/layers.py only
        return
    headers = [(name.lower(), name, value) for name, value in security_headers(app.config).items()]

    def add_security_headers(response):
        # Not Headers.setdefault: werkzeug finds a header absent by raising and
        # catching an exception, four times a response here.
        present = {name.lower() for name, _ in response.headers}
        for key, name, value in headers:
            if key not in present:
                response.headers.add(name, value)
        return response

    app.after_request(add_security_headers)
