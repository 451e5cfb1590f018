"""Mail latency: from the commit of an outbox row to the SMTP server's acceptance.

Folio as deployed for mail: the app (in this process) commits each message
with OUTBOX_DELIVERY=celery, so the after-commit hook enqueues a task on the
Redis broker; a real worker process (`celery -A worker:celery worker`, as the
Procfile runs it, without beat) claims the row and sends it to an SMTP server
(aiosmtpd, in this process) on a loopback port, which records when it
accepted each Message-ID. The clock starts just before `commit()` (the commit
and the enqueue are part of the latency) and stops when the server has the
message's data.

`--count` messages (200), one every `--interval` seconds (0.05: latency, not a
burst's throughput), on PostgreSQL (BENCH_DATABASE_URL, default folio_bench on
127.0.0.1: its outbox table is created if missing and emptied first) and Redis
(BENCH_REDIS_URL, default db 15; only Celery's own keys are deleted).
Reports p50, p90, p99 and max in milliseconds; `--json PATH` writes them.

    python bench/mail_latency.py --count 200

`make bench` runs it last, with these defaults, into the run's JSON.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from email import message_from_bytes, policy
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import OutboxMessage  # noqa: E402
from app.services import outbox  # noqa: E402

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/folio_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"
CELERY_KEYS = ("celery", "unacked", "unacked_index", "unacked_mutex")


class Acceptances:
    """The SMTP server's side: when each Message-ID was accepted."""

    def __init__(self):
        self.at = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        accepted = time.perf_counter()
        message_id = message_from_bytes(envelope.content, policy=policy.default)["Message-ID"]
        with self.lock:
            self.at.setdefault(message_id, accepted)
        return "250 OK"


def free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_worker(env, log_path, concurrency):
    command = [sys.executable, "-m", "celery", "-A", "worker:celery", "worker"]
    command += ["--concurrency", str(concurrency), "--without-mingle", "--without-gossip"]
    command += ["--loglevel", "INFO"]  # its " ready." line says it consumes
    log = open(log_path, "w")  # noqa: SIM115 (kept open for the worker's lifetime)
    worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while " ready." not in Path(log_path).read_text():
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            raise SystemExit(f"the worker did not start; see {log_path}")
        time.sleep(0.1)
    return worker


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(args):
    # psycopg 3 whichever spelling (run.py's default says postgresql://).
    database = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE)
    database = re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", database)
    broker = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    acceptances = Acceptances()
    port = free_port()
    smtp = Controller(acceptances, hostname="127.0.0.1", port=port)
    smtp.start()
    settings = {
        "SQLALCHEMY_DATABASE_URI": database,
        "CELERY_BROKER_URL": broker,
        "OUTBOX_DELIVERY": "celery",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": port,
    }
    app = create_app("testing", **settings)
    with app.app_context():
        db.metadata.create_all(db.engine, tables=[OutboxMessage.__table__])
        db.session.execute(db.delete(OutboxMessage))
        db.session.commit()
    client = redis.Redis.from_url(broker)
    client.delete(*CELERY_KEYS)
    env = {
        **os.environ,
        "APP_ENV": "testing",
        "TEST_DATABASE_URL": database,
        "CELERY_BROKER_URL": broker,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    worker = start_worker(env, args.log, args.concurrency)
    committed = {}
    user = SimpleNamespace(full_name=None, username="bench", email="bench@example.com")
    try:
        for number in range(args.count):
            with app.app_context():
                message = outbox.add_message(
                    f"bench{number}@example.com",
                    "Bench",
                    "verify_email",
                    user=user,
                    link="http://localhost/?token=x",
                    hours=48,
                )
                message_id = message.message_id
                started = time.perf_counter()
                db.session.commit()
            committed[message_id] = started
            time.sleep(args.interval)
        deadline = time.monotonic() + 120
        while len(acceptances.at) < args.count and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.terminate()
        worker.wait(30)
        smtp.stop()
        client.delete(*CELERY_KEYS)
        client.close()
    latencies = [
        (acceptances.at[mid] - started) * 1000
        for mid, started in committed.items()
        if mid in acceptances.at
    ]
    return {
        "messages": args.count,
        "delivered": len(latencies),
        "interval_s": args.interval,
        "worker_concurrency": args.concurrency,
        "p50_ms": round(statistics.median(latencies), 1),
        "p90_ms": round(percentile(latencies, 0.90), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "max_ms": round(max(latencies), 1),
    }


def arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--log", default="/tmp/folio-bench-mail-worker.log")
    parser.add_argument("--json", help="write the figures here too")
    return parser.parse_args(argv)


def main():
    args = arguments()
    figures = measure(args)
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
