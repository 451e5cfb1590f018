"""Registration flood: six loops register accounts while another client reads a post.

Each registration costs one argon2id hash (about 0.3 CPU-seconds as shipped).
This scenario runs Folio as in production (argon2 as shipped, rate limiting ON
with counters in Redis, gunicorn.conf.py with its default workers) on the bench
database, and measures what a reader of one post sees:

1. idle: the reader GETs /api/v1/posts/<id>, one request every `--interval`
   seconds (under the API-wide 300/minute), for `--seconds`;
2. flood: six threads POST /auth/register with new accounts as fast as the
   answers come, while the reader reads as before. `--addresses one`: every
   flood request from one client address (the issue's case); `many`: each from
   a new address (a botnet: only the cap on concurrent hashes stands in the
   way of the CPU). Each client connects from its own loopback address
   (127.x.y.z) and names it in X-Forwarded-For as well: gunicorn alone
   believes the header (PROXY_FIX_X_FOR=1), nginx replaces it with the
   address it saw.
   `--addresses health`, for reference: the same loops on GET /health, the
   cheapest answer Folio gives, so what any flood of requests costs the reader.

`--shape serve` runs the shipped production shape, nginx in front of
gunicorn (deploy/serve.py, as `make serve`); `gunicorn` (the default) runs
gunicorn alone, as the Procfile does.

It reports the reader's p50/p99 idle and under flood, their ratio, and the
flood's answers by status. Runnable alone (`python bench/registration_flood.py
--size 1000`), and run by `make bench` after the read scenarios. `--app-dir`
serves another checkout of Folio with the same harness (a before/after
comparison: `git archive main | tar -x -C /tmp/folio-main`).
"""

import argparse
import http.client
import itertools
import os
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import run  # noqa: E402

READER_ADDRESS = "127.0.0.2"
FLOOD_ADDRESS = "127.0.0.3"
FLOOD_LOOPS = 6
ADDRESS_LABELS = {
    "one": "one address",
    "many": "a new address per request",
    "health": "reference: GET /health instead of registering",
}


def arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.add_argument("--size", type=int, default=1000, help="posts to seed (users: size/100)")
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE_URL", run.DEFAULT_DB))
    parser.add_argument("--port", type=int, default=8711)
    return parser.parse_args(argv)


def add_arguments(parser):
    """The scenario's own options (bench/run.py offers them too)."""
    parser.add_argument("--flood-seconds", type=int, default=20, help="idle, then flood, each")
    parser.add_argument("--interval", type=float, default=0.25, help="between the reader's GETs")
    parser.add_argument(
        "--addresses",
        choices=("one", "many", "both", "health"),
        default="both",
        help="both: one, then many; health: the same loops on GET /health instead, for reference",
    )
    parser.add_argument(
        "--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    )
    parser.add_argument("--app-dir", type=Path, default=ROOT, help="the Folio checkout to serve")
    parser.add_argument(
        "--shape",
        choices=("gunicorn", "serve"),
        default="gunicorn",
        help="gunicorn alone, or nginx in front of it (deploy/serve.py, as `make serve`)",
    )


def server_env(args, port):
    """Production settings with the limiter on, counting in Redis, behind one trusted proxy."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "RATELIMIT_"))},
        **run.SECRETS,
        "APP_ENV": "production",
        "DATABASE_URL": run.sqlalchemy_url(args.database),
        "FLASK_APP": "wsgi",
        "REDIS_URL": args.redis,
        "PROXY_FIX_X_FOR": "1",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("WEB_CONCURRENCY", None)  # gunicorn.conf.py's default, as shipped
    return env


def forget_counters(url):
    """Fresh rate-limit counters (the `limits` library's keys only) for a fair start."""
    store = redis.Redis.from_url(url)
    for key in store.scan_iter("LIMITS:*", count=1000):
        store.delete(key)


def request(port, method, path, address, body=None, timeout=30):
    """The status, or 'no answer' when the socket failed or timed out."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=timeout, source_address=(address, 0)
    )
    headers = {"X-Forwarded-For": address, "Content-Type": "application/json"}
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError:
        return "no answer"
    finally:
        connection.close()


def read_for(port, path, seconds, interval):
    """The reader: one GET every `interval` s; latencies (ms) of the answered ones, statuses."""
    latencies, statuses = [], Counter()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        status = request(port, "GET", path, READER_ADDRESS)
        elapsed = time.perf_counter() - started
        statuses[status] += 1
        if status == 200:
            latencies.append(elapsed * 1000)
        time.sleep(max(0.0, interval - elapsed))
    return latencies, statuses


def registration():
    name = f"flood{uuid.uuid4().hex[:20]}"
    return (
        f'{{"username": "{name}", "email": "{name}@example.com", '
        '"password": "flood password 12345"}'
    )


def flood(port, addresses, stop):
    """FLOOD_LOOPS threads registering new accounts until `stop` is set; answers by status."""
    statuses = Counter()
    lock = threading.Lock()
    numbers = itertools.count(1)

    def address():
        if addresses == "one":
            return FLOOD_ADDRESS
        n = next(numbers)
        return f"127.{1 + (n >> 16 & 127)}.{n >> 8 & 255}.{n & 255}"

    def loop():
        while not stop.is_set():
            if addresses == "health":
                status = request(port, "GET", "/health", FLOOD_ADDRESS)
            else:
                status = request(port, "POST", "/auth/register", address(), registration())
            with lock:
                statuses[status] += 1

    threads = [threading.Thread(target=loop) for _ in range(FLOOD_LOOPS)]
    for thread in threads:
        thread.start()
    return threads, statuses


def by_status(counts):
    """JSON-ready counts: statuses as strings, in order ("no answer" last)."""
    return {str(status): counts[status] for status in sorted(counts, key=str)}


def percentiles(latencies):
    if len(latencies) < 2:
        return {"p50_ms": None, "p99_ms": None, "samples": len(latencies)}
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49], 1), "p99_ms": round(cuts[98], 1), "samples": len(latencies)}


def scenario(port, path, addresses, args):
    """Idle, then flooded: the reader's figures and the flood's answers."""
    idle, idle_statuses = read_for(port, path, args.flood_seconds, args.interval)
    stop = threading.Event()
    threads, flood_statuses = flood(port, addresses, stop)
    time.sleep(1)  # let the flood take hold before the reader measures
    flooded, flooded_statuses = read_for(port, path, args.flood_seconds, args.interval)
    stop.set()
    for thread in threads:
        thread.join()
    result = {
        "addresses": addresses,
        "idle": {**percentiles(idle), "statuses": by_status(idle_statuses)},
        "flood": {**percentiles(flooded), "statuses": by_status(flooded_statuses)},
        "flood_statuses": by_status(flood_statuses),
    }
    if result["idle"]["p50_ms"] and result["flood"]["p50_ms"]:
        result["p50_ratio"] = round(result["flood"]["p50_ms"] / result["idle"]["p50_ms"], 2)
    return result


def measure(args, port, post_id):
    """Every `--addresses` variant against one server started for them; the results."""
    env = server_env(args, port)
    base = f"http://127.0.0.1:{port}"
    variants = ["one", "many"] if args.addresses == "both" else [args.addresses]
    if args.shape == "serve":
        command = [sys.executable, "deploy/serve.py"]
    else:
        command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
    results = []
    with psycopg.connect(args.database) as conn:
        last_user = conn.execute("SELECT max(id) FROM users").fetchone()[0]
    try:
        for addresses in variants:
            forget_counters(args.redis)
            with run.server(command, env, f"{base}/health", cwd=args.app_dir):
                result = scenario(port, f"/api/v1/posts/{post_id}", addresses, args)
            result["shape"] = args.shape
            print(summary(result), flush=True)
            results.append(result)
    finally:
        with psycopg.connect(args.database) as conn:
            conn.execute("DELETE FROM users WHERE id > %s", (last_user,))
        forget_counters(args.redis)
    return results


def summary(result):
    idle, flood_ = result["idle"], result["flood"]
    return (
        f"registration flood ({ADDRESS_LABELS[result['addresses']]}, {result['shape']}):"
        f" reader p50/p99 idle {idle['p50_ms']}/{idle['p99_ms']} ms, under flood"
        f" {flood_['p50_ms']}/{flood_['p99_ms']} ms (p50 x{result.get('p50_ratio')});"
        f" flood answers {result['flood_statuses']}; reader answers {flood_['statuses']}"
    )


def main():
    args = arguments()
    run.prepare_database(args, server_env(args, args.port))
    with psycopg.connect(args.database) as conn:
        post_id = conn.execute("SELECT min(id) FROM posts WHERE status = 'published'").fetchone()[0]
    measure(args, args.port, post_id)


if __name__ == "__main__":
    main()
