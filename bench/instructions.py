"""Instructions per request, counted by callgrind: a CPU measure the load of the
machine cannot move.

Wall-clock and even worker-CPU figures wander when other processes share the
cores; the number of instructions a request executes does not (to within a
fraction of a percent from run to run). Instructions are a proxy for CPU, not
CPU itself (cache misses and branch mispredictions are not counted), but a
change that removes instructions from every request removes CPU from it.

What runs: one Python process, under `valgrind --tool=callgrind`, builds the
app with the shipped production settings (bench/run.py's `folio_env`: rate
limiting counted in Redis, metrics in multiprocess mode, the JSON access log,
request ids, security headers, CORS for one origin) against PostgreSQL and
Redis, and imports the floor (bench/floor.py). It makes every request once to
warm up, then for each endpoint calls the WSGI callable in-process N times with
environs built beforehand. Between endpoints it calls `os.getppid()`, which
callgrind is told to dump before (`--dump-before=os_getppid`): each dump file
then holds exactly one endpoint's N requests. gunicorn's own per-request work
(HTTP parsing, socket writes) is outside the count, for Folio and the floor
alike. PostgreSQL's and Redis's work is in other processes and not counted.

Run (about two minutes; the database is seeded once):

    createdb -h 127.0.0.1 -U postgres folio_bench
    APP_ENV=production DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/folio_bench \\
        SECRET_KEY=... JWT_SECRET_KEY=... .venv/bin/flask --app wsgi db upgrade
    ... .venv/bin/flask --app wsgi seed --posts 10000 --users 100 && psql ... -c 'VACUUM ANALYZE'
    .venv/bin/python bench/instructions.py --database postgresql://postgres@127.0.0.1/folio_bench

It prints instructions per request for each endpoint and Folio's ratio to the
floor's (floor instructions / Folio instructions: 0.5 means Folio executes twice
the floor's instructions). The callgrind files stay in bench/results/callgrind/
for `callgrind_annotate --inclusive=yes <file> | head -60`, which shows where
the instructions go. `--set NAME=VALUE` changes a setting (a layer off: see
bench/layers.py's switches); `--out DIR` lets two runs go side by side.

Instruction counts are not exactly repeatable on a busy machine: a driver
waiting for a busy server loops more often (psycopg's and redis-py's waits are
Python). The same code gave a single post 3.53 to 3.64 million instructions
over six runs, and a signed-in one (more round trips) 7.27 to 7.71 million:
differences under about 3% need several runs each.

Measured 2026-12-05 (10,000 posts, shipped settings, instructions a request;
ratio = floor / Folio): floor list 1.88 M, floor single post 0.42 M; list
page 1 6.48 M (0.29x), single post 3.56 M (0.12x), signed in 7.27 M (0.06x),
GET /api/v1/tags 5.40 M (0.08x), Conduit GET /api/tags 4.77 M (0.09x),
GET /health 1.40 M. Single post with one layer off: limiter -1.02 M (29%),
CORS -59 K, request id and security headers -41 K, metrics -26 K, access log
-10 K (these four within the spread of one run each); every layer off
2.04 M, so the stack is 1.52 M, 43% of a single post (issue 19's target: 15%).
"""

import argparse
import io
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: `bench` and `app` import from the checkout
OUT = ROOT / "bench" / "results" / "callgrind"
MARKER = "os_getppid"  # the C function of os.getppid: callgrind dumps before each call
# (name, path, signed in, the floor's endpoint it is held against)
ENDPOINTS = [
    ("floor: list page 1", "/api/v1/posts", False, None),
    ("floor: single post", "/api/v1/posts/{post_id}", False, None),
    ("list page 1", "/api/v1/posts?per_page=20", False, "floor: list page 1"),
    ("single post", "/api/v1/posts/{post_id}", False, "floor: single post"),
    ("single post, signed in", "/api/v1/posts/{post_id}", True, "floor: single post"),
    ("GET /api/v1/tags", "/api/v1/tags", False, "floor: single post"),
    ("Conduit GET /api/tags", "/api/tags", False, "floor: single post"),
    ("GET /health", "/health", False, "floor: single post"),
]


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/folio_i")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9")
    parser.add_argument("-n", "--requests", type=int, default=50, help="per endpoint")
    parser.add_argument("--only", help="endpoint names containing this text (and the floor)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting changed from the shipped ones, e.g. RATELIMIT_ENABLED=false or "
        "BENCH_LAYERS_OFF=metrics (bench/layers.py's switches): what a layer costs",
    )
    parser.add_argument("--out", type=Path, default=OUT, help="where the callgrind files go")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


def production_env(args):
    """The shipped configuration, as bench/run.py's `folio_env` makes it."""
    from bench.run import BROWSER_ORIGIN, UNREACHED_LIMIT, sqlalchemy_url

    return {
        "APP_ENV": "production",
        "DATABASE_URL": sqlalchemy_url(args.database),
        "FLOOR_DATABASE_URL": args.database,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "JWT_SECRET_KEY": secrets.token_urlsafe(48),
        "JWT_ACCESS_TOKEN_SECONDS": "3600",
        "TRUSTED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "INFO",
        "REDIS_URL": args.redis,
        "RATELIMIT_DEFAULT": UNREACHED_LIMIT,
        "CORS_ORIGINS": BROWSER_ORIGIN,
        "PYTHONHASHSEED": "0",  # the same dict layouts, run after run
    }


def selected(args):
    return [e for e in ENDPOINTS if args.only is None or e[3] is None or args.only in e[0]]


def environ(path, token=None):
    from werkzeug.test import EnvironBuilder

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    builder = EnvironBuilder(path=path, base_url="http://127.0.0.1", headers=headers)
    try:
        return builder.get_environ()
    finally:
        builder.close()


def call(wsgi_app, env):
    """One request, as a WSGI server makes it: the body read to the end."""
    status = []
    env = dict(env, **{"wsgi.input": io.BytesIO()})
    body = wsgi_app(env, lambda answer, headers, exc_info=None: status.append(answer))
    try:
        for _ in body:
            pass
    finally:
        getattr(body, "close", lambda: None)()
    return status[0]


def measure(args):
    """Inside callgrind: warm up, then N requests per endpoint between markers."""
    import bench.floor
    from app import create_app
    from app.extensions import db
    from app.models import Post, User
    from app.services.tokens import issue_pair

    app = create_app()
    with app.app_context():
        post_id = db.session.query(db.func.min(Post.id)).filter(Post.status == "published").scalar()
        user = db.session.query(User).filter(User.role == "author").order_by(User.id).first()
        token = issue_pair(user)["access_token"]  # a sign-in: its token family is stored
        db.session.commit()
    runs = []
    for name, path, signed_in, _ in selected(args):
        target = bench.floor.app if name.startswith("floor") else app
        env = environ(path.format(post_id=post_id), token if signed_in else None)
        for _ in range(3):  # warm-up: caches, prepared statements, pool
            status = call(target, env)
        if not status.startswith("200"):
            raise SystemExit(f"{name}: {path} answered {status}")
        runs.append((target, [dict(env) for _ in range(args.requests)]))
    for target, environs in runs:
        os.getppid()  # dump: what came before is not counted
        for env in environs:
            call(target, env)
    os.getppid()


def totals(path):
    """The instructions of one callgrind dump file."""
    match = re.search(r"^(?:summary|totals): (\d+)", path.read_text(), re.MULTILINE)
    return int(match.group(1))


def main():
    args = arguments()
    if args.measure:
        return measure(args)
    out = args.out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    metrics_dir = tempfile.mkdtemp(prefix="folio-metrics-")
    changes = dict(setting.split("=", 1) for setting in args.set)
    env = {**os.environ, **production_env(args), **changes, "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
    env.pop("TEST_DATABASE_URL", None)
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--dump-before={MARKER}",
        f"--callgrind-out-file={out}/callgrind.out",
        sys.executable,
        __file__,
        "--measure",
        f"-n{args.requests}",
        *(["--only", args.only] if args.only else []),
    ]
    with (out / "run.log").open("w") as log:
        done = subprocess.run(command, env=env, cwd=ROOT, stdout=log, stderr=log)
    shutil.rmtree(metrics_dir, ignore_errors=True)
    if done.returncode:
        raise SystemExit(f"the measured run failed: see {out / 'run.log'}")
    # Dump 1 is start-up and warm-up; dump k+1 is endpoint k's requests.
    figures = {}
    for index, (name, *_rest) in enumerate(selected(args), start=2):
        dump = out / f"callgrind.out.{index}"
        figures[name] = totals(dump) / args.requests
        dump.rename(out / f"{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}.callgrind")
    print(f"Instructions per request ({args.requests} requests each, callgrind):")
    if args.set:
        print(f"  changed from the shipped settings: {', '.join(args.set)}")
    for name, _path, _signed_in, floor in selected(args):
        ratio = f"  {figures[floor] / figures[name]:.2f}x the {floor}" if floor else ""
        print(f"  {name:<26} {figures[name]:>12,.0f}{ratio}")


if __name__ == "__main__":
    main()
