"""gunicorn settings for Folio; every value can be set from the environment.

Run: `gunicorn -c gunicorn.conf.py wsgi:app` (after `flask db upgrade`).
"""

import multiprocessing
import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
# Sync workers: Folio's requests are short and database-bound.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
# A request that takes this long is stuck; the database statement timeout is 5 s.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
# Recycle workers now and then so slow leaks cannot grow without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "1000"))
# The app writes its own JSON access line per request; gunicorn's would repeat it.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
preload_app = True


def post_fork(server, worker):
    """Connections opened while preloading must not be shared across processes."""
    from app.extensions import db

    with worker.app.wsgi().app_context():
        db.engine.dispose(close=False)
