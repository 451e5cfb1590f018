"""Trust X-Forwarded-* headers from as many proxies as configured, and no more.

Behind nginx or a load balancer, the client's address, scheme and host arrive
in X-Forwarded-For/-Proto/-Host/-Port/-Prefix. Each `PROXY_FIX_X_*` setting
says how many proxies in front of Folio set that header: 0 (the default)
ignores it, so a client talking to Folio directly cannot forge its address
(which the rate limiter and the logs rely on); 1 trusts the last value, the
one the nearest proxy appended.
"""

from werkzeug.middleware.proxy_fix import ProxyFix

FORWARDED_PARTS = ("for", "proto", "host", "port", "prefix")


def init_proxy_fix(app):
    hops = {f"x_{part}": app.config[f"PROXY_FIX_X_{part.upper()}"] for part in FORWARDED_PARTS}
    if any(hops.values()):
        app.wsgi_app = ProxyFix(app.wsgi_app, **hops)
