"""gunicorn settings for Folio; every value can be set from the environment.

Run: `gunicorn -c gunicorn.conf.py wsgi:app` (after `flask db upgrade`).
"""

import multiprocessing
import os
import shutil
import sys
import tempfile
from pathlib import Path

# Under gunicorn Folio serves the network: without APP_ENV that means the
# production configuration (which refuses to start without secrets), never the
# development one with its laptop defaults. Decided here, before gunicorn
# imports the app, and said once, as the first line of the start-up.
if not os.environ.get("APP_ENV", "").strip():
    os.environ["APP_ENV"] = "production"
    print("folio: APP_ENV not set; running the production configuration", file=sys.stderr)

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"

# Sync workers: Folio's requests are short and database-bound, and one request
# per process keeps a worker's database use to one connection at a time.
# cpu_count() sees the host's cores, not a container's CPU quota: set
# WEB_CONCURRENCY in containers.
# gunicorn's sync worker, answering the requests gunicorn itself refuses (bad
# request line, 414, 431) as problem details instead of HTML.
worker_class = "app.core.gunicorn_worker.ProblemDetailsSyncWorker"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))

# A worker silent this long is killed and replaced; the database statement
# timeout (5 s) and connect timeout (3 s) keep healthy requests far below it.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM, workers finish the requests they hold for up to this long. Keep it
# below the orchestrator's own grace period (docker-compose gives 30 s here).
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
# Sync workers cannot survive slow clients on their own: a worker reads a
# request's headers and body itself, one connection at a time, so a client that
# trickles them holds that worker until `timeout` kills it, and a handful of
# such clients take the service offline. Serve through a buffering proxy that
# hands over only whole requests: nginx (deploy/, `make serve`), or a platform
# router that buffers (Procfile platforms). Sync workers also ignore keepalive.

# Recycle each worker after this many requests (plus jitter, so workers do not
# all restart at once) so that slow leaks cannot grow without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "1000"))

# The app writes its own JSON access line per request; gunicorn's would repeat it.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# Import the app once in the master: workers fork with it loaded (faster boot,
# shared memory), and a broken configuration stops the master at once instead
# of crash-looping workers. post_fork gives each worker its own connections.
preload_app = True

# The heartbeat file lives in memory: a container's /tmp may be a slow overlay
# that makes healthy workers look stuck.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

# gunicorn's control socket defaults to one path per user ($HOME/.gunicorn), so
# two servers on one host would fight over it; Folio does not use it.
control_socket_disable = True

# Prometheus multiprocess mode: each worker writes its metrics to files in this
# directory and a scrape of any worker adds them up. It must be set before the
# app (and prometheus_client) is imported, so it is decided here.
_own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="folio-metrics-")
METRICS_DIR = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])

# Password hashing cap (PASSWORD_HASH_CONCURRENCY) across this server's sync
# workers: each worker serves one request, so only files they all flock
# (app/core/throttle.py) can bound hashes across them. Set before the app loads.
_own_hash_slots_dir = not os.environ.get("PASSWORD_HASH_SLOTS_DIR")
if _own_hash_slots_dir:
    os.environ["PASSWORD_HASH_SLOTS_DIR"] = tempfile.mkdtemp(prefix="folio-hash-slots-")


def on_starting(server):
    """Start from empty metrics: files left by an earlier run would be added in."""
    METRICS_DIR.mkdir(parents=True, exist_ok=True)
    for stale in METRICS_DIR.glob("*.db"):
        stale.unlink()


def post_fork(server, worker):
    """Connections opened while preloading must not be shared across processes.

    dispose(close=False) drops the inherited pool without closing its sockets,
    which the master (and the other workers) may still be using; this worker
    then opens its own.
    """
    from app.core.replicas import replica_set
    from app.extensions import db

    with worker.app.wsgi().app_context():
        db.engine.dispose(close=False)
        if (replicas := replica_set()) is not None:
            replicas.dispose(close=False)


def child_exit(server, worker):
    """A dead worker's live gauges (connections in use) must stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(METRICS_DIR, ignore_errors=True)
    if _own_hash_slots_dir:
        shutil.rmtree(os.environ["PASSWORD_HASH_SLOTS_DIR"], ignore_errors=True)
