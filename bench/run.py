"""`make bench`: Folio and the reference floor under gunicorn, on a seeded PostgreSQL.

1. Make sure the bench database holds the seeded data set of `--size` posts
   (re-seeded only when the size differs), vacuumed and analysed.
2. Start Folio as shipped (gunicorn.conf.py but for `--workers`, production
   settings, the limiter on and counted in Redis (BENCH_REDIS_URL) with a limit
   wrk never reaches, metrics, the access log, CORS for one origin), the same
   behind nginx (deploy/serve.py, as `make serve`), and the floor
   (bench/floor.py, 2 workers) on 127.0.0.1. `--bare` runs Folio as the bench
   once did instead: no limiter, no Redis, no nginx, no worker recycling.
3. Drive every read scenario with wrk in `--rounds` rounds (the median round
   counts), directly and through nginx, the write scenario once, list page 1 at
   16, 64 and 256 connections, then top Folio up to `--soak` requests and read
   its workers' memory.
4. Delete the posts the write scenario created.
5. The per-layer scenario (bench/layers.py): worker CPU per request of a cheap
   endpoint as shipped and with each layer off in turn. `--layers-only` runs
   this step alone.
6. With the limiter ON (Redis: BENCH_REDIS_URL), the registration flood
   (bench/registration_flood.py): a reader's latency idle and while six loops
   register accounts. `--flood-only` runs this step alone (about two minutes).
7. Write bench/results/<date>.json, a chart and a Markdown table (printed as well).

Everything is bounded: about 20 s per scenario, one seeding when the size changes.
"""

import argparse
import dataclasses
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from pathlib import Path

import orjson
import psycopg
import redis
from alembic.script import ScriptDirectory

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import layers, load, mail_latency, registration_flood, report  # noqa: E402

SERVER_LOG = ROOT / "bench" / "results" / "servers.log.tmp"  # gunicorn's own messages
DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/folio_bench"
PASSWORD = "folio-demo-password"  # app.services.seeding.SEED_PASSWORD
# Made per run: production refuses any value written in the repository.
SECRETS = {name: secrets.token_urlsafe(48) for name in ("SECRET_KEY", "JWT_SECRET_KEY")}
# As shipped, every request is counted in Redis; the limit is one wrk never reaches
# (the report says so), so the bench measures the counting, never a refusal.
UNREACHED_LIMIT = "1000000/minute"
# A deployment with a browser frontend names its origin; wrk sends no Origin.
BROWSER_ORIGIN = "https://app.example.com"
CONCURRENCY = (16, 64, 256)


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="posts (users: size/100)")
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--seconds", type=int, default=5, help="per scenario and round")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each read scenario")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--soak", type=int, default=100_000, help="requests before the RSS check")
    parser.add_argument(
        "--soak-seconds", type=int, default=150, help="but soak no longer than this"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8701,
        help="Folio; the floor uses port+1, the flood port+2, nginx port+3, layers port+10...",
    )
    parser.add_argument("--flood-only", action="store_true", help="only the registration flood")
    parser.add_argument("--layers-only", action="store_true", help="only the per-layer scenario")
    parser.add_argument(
        "--bare",
        action="store_true",
        help="Folio without limiter, Redis, nginx or worker recycling (labelled bare)",
    )
    registration_flood.add_arguments(parser)
    return parser.parse_args()


def sqlalchemy_url(url):
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def folio_env(args):
    """Production settings; as shipped unless `--bare`. Settings of the caller's
    shell that would change what is measured are left out."""
    ours = ("TEST_", "RATELIMIT_", "REDIS_URL", "CORS_ORIGINS", "BENCH_LAYERS_OFF", "GUNICORN_")
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith(ours)},
        **SECRETS,
        "APP_ENV": "production",
        "DATABASE_URL": sqlalchemy_url(args.database),
        "FLASK_APP": "wsgi",
        "JWT_ACCESS_TOKEN_SECONDS": "3600",
        "WEB_CONCURRENCY": str(args.workers),
        "HOST": "127.0.0.1",
        "TRUSTED_HOSTS": "127.0.0.1,localhost",
        "PORT": str(args.port),
        "LOG_LEVEL": "INFO",
    }
    if args.bare:
        env["RATELIMIT_ENABLED"] = "false"
        env["GUNICORN_MAX_REQUESTS"] = "0"  # the memory check sees workers that live on
    else:
        env["REDIS_URL"] = args.redis
        env["RATELIMIT_DEFAULT"] = UNREACHED_LIMIT
        env["CORS_ORIGINS"] = BROWSER_ORIGIN
    return env


def configuration(args):
    """What the report says about the configuration measured."""
    if args.bare:
        return {
            "shape": "bare",
            "description": "bare: no rate limiting, no Redis, no nginx, no worker recycling "
            "(not a configuration any deployment runs)",
        }
    return {
        "shape": "shipped",
        "description": f"as shipped: gunicorn.conf.py with {args.workers} workers, rate limiting "
        f"on and counted in Redis (moving window, one round trip a request, RATELIMIT_DEFAULT "
        f"{UNREACHED_LIMIT}: "
        f"never reached, so no request was refused for it), metrics, access log, "
        f"request ids, security headers, CORS for one origin; second column through "
        f"nginx (deploy/serve.py, as make serve)",
    }


def require_redis(url):
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        raise SystemExit(
            f"Redis at {url} does not answer ({error}): the shipped configuration counts "
            "requests there. Set BENCH_REDIS_URL, or run `--bare`."
        ) from None


def flask(env, *command):
    subprocess.run([sys.executable, "-m", "flask", *command], env=env, cwd=ROOT, check=True)


def seeded_size(url):
    """Posts in the bench database, or None when its schema is not the current one."""
    head = ScriptDirectory(str(ROOT / "migrations")).get_current_head()
    try:
        with psycopg.connect(url) as conn:
            revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            if revision is None or revision[0] != head:
                return None
            return conn.execute("SELECT count(*) FROM posts").fetchone()[0]
    except psycopg.errors.UndefinedTable:
        return None


def prepare_database(args, env):
    """Seed `--size` posts unless the database already holds exactly that many, made
    by the current migrations (a schema change re-seeds: migrations and seed data
    change together)."""
    if seeded_size(args.database) == args.size:
        print(f"Database already seeded with {args.size:,} posts.")
    else:
        with psycopg.connect(args.database, autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
        flask(env, "db", "upgrade")
        users = str(max(10, args.size // 100))
        flask(env, "seed", "--posts", str(args.size), "--users", users, "--seed", "1")
    with psycopg.connect(args.database, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


@contextmanager
def server(command, env, url, cwd=ROOT):
    """A gunicorn started in its own process group, stopped (SIGTERM) on the way out."""
    SERVER_LOG.parent.mkdir(parents=True, exist_ok=True)
    with SERVER_LOG.open("a") as log:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
    try:
        wait_for(url, process)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def wait_for(url, process, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited ({process.returncode}) before answering {url}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {seconds} s")


def probe(url, timeout=5):
    """The status of one GET, or None when the server does not answer in time."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def drain(base, seconds=180):
    """Wait until a slow scenario's queued requests are served (wrk gave up on them,
    gunicorn did not), so they do not slow the next scenario down."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and probe(f"{base}/health", timeout=2) is None:
        time.sleep(1)


def call(url, body=None, token=None):
    request = urllib.request.Request(url, data=orjson.dumps(body) if body else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, orjson.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None


def sign_in(base, database):
    """User 1 of the seeded set (an admin who follows a few authors)."""
    with psycopg.connect(database) as conn:
        username = conn.execute("SELECT username FROM users WHERE id = 1").fetchone()[0]
    status, body = call(f"{base}/auth/login", {"login": username, "password": PASSWORD})
    if status != 200:
        raise SystemExit(f"sign-in as {username} failed: {status}")
    return body["access_token"]


def deep_cursor(env, database, page):
    """The cursor for page `page` of the default list, made as Folio makes it.

    100,000 posts with 5% drafts make 4,755 pages: the last full page stands in
    for page 5,000 when there are fewer (the report names the page used).

    Walking 5,000 pages to get it would take minutes; the key of the last row of
    page - 1 comes from SQL and is signed with Folio's own code and secret.
    """
    os.environ.update({k: env[k] for k in ("APP_ENV", "DATABASE_URL", "TRUSTED_HOSTS", *SECRETS)})
    from app import create_app
    from app.api.posts import POST_SORTS
    from app.core.paging import encode_cursor
    from app.services.listing import Sort

    app = create_app()
    with psycopg.connect(database) as conn:
        published = conn.execute("SELECT count(*) FROM posts WHERE status = 'published'")
        page = min(page, published.fetchone()[0] // 20)
        published_at, post_id = conn.execute(
            "SELECT published_at, id FROM posts WHERE status = 'published' "
            "ORDER BY published_at DESC, id DESC OFFSET %s LIMIT 1",
            ((page - 1) * 20 - 1,),
        ).fetchone()
    with app.test_request_context("/api/v1/posts?per_page=20"):
        sort = Sort.parse("-published_at", POST_SORTS)
        return page, encode_cursor([published_at, post_id], sort)


def scenarios(env, database, post_id):
    page, cursor = deep_cursor(env, database, 5000)
    with psycopg.connect(database) as conn:
        slug = conn.execute("SELECT slug FROM posts WHERE id = %s", (post_id,)).fetchone()[0]
    deep = f"/api/v1/posts?per_page=20&cursor={cursor}"
    return [
        load.Scenario("list page 1 (cursor)", "/api/v1/posts?per_page=20"),
        load.Scenario("list deep page (cursor)", deep, note=f"page {page:,}"),
        load.Scenario("list page 1 (page)", "/api/v1/posts?page=1&per_page=20"),
        load.Scenario("list page 1 (304)", "/api/v1/posts?per_page=20", lua=load.REVALIDATE),
        load.Scenario("list page 1 (gzip)", "/api/v1/posts?per_page=20", lua=load.GZIP),
        load.Scenario("list page 4000 (page)", "/api/v1/posts?page=4000&per_page=20"),
        load.Scenario("single post", f"/api/v1/posts/{post_id}"),
        load.Scenario("GET /tags", "/api/v1/tags"),
        load.Scenario("Conduit GET /api/tags", "/api/tags"),
        load.Scenario("feed (signed in)", "/api/v1/feed?per_page=20", token=True),
        load.Scenario("filter tag=python", "/api/v1/posts?tag=python&per_page=20"),
        load.Scenario("Conduit /api/articles", "/api/articles?limit=20"),
        load.Scenario("Conduit offset 2000", "/api/articles?offset=2000&limit=20"),
        load.Scenario("Conduit feed", "/api/articles/feed?limit=20", token=True),
        load.Scenario("Conduit single article", f"/api/articles/{slug}"),
        load.Scenario("floor list page 1", "/api/v1/posts", target="floor"),
        load.Scenario("floor single post", f"/api/v1/posts/{post_id}", target="floor"),
        load.Scenario("search q=coffee", "/api/v1/posts?q=coffee&per_page=20"),
        # Last: it adds rows (deleted again after the run).
        load.Scenario(
            "create post", "/api/v1/posts", token=True, method="POST", lua=load.CREATE_POST
        ),
    ]


def run_all(items, bases, token, args):
    """Every scenario `--rounds` times, the whole list in order each round, so a slow
    spell of a shared machine falls on a scenario and the one it is compared with
    alike; a scenario's figure is its median round. Folio's reads run through nginx
    too, right after, when it runs. Scenarios that add rows run once, after the rounds."""
    runnable = [scenario for scenario in items if available(scenario, bases)]
    repeated = [scenario for scenario in runnable if scenario.method == "GET"]
    rounds = {scenario.name: [] for scenario in runnable}
    proxied = [s for s in repeated if s.target == "folio"] if "nginx" in bases else []
    nginx_rounds = {scenario.name: [] for scenario in proxied}
    for number in range(args.rounds):
        for scenario in repeated:
            rounds[scenario.name].append(measure(scenario, bases, token, args, first=number == 0))
            if scenario in proxied:
                via_nginx = dataclasses.replace(scenario, target="nginx")
                result = measure(via_nginx, bases, token, args, first=number == 0)
                nginx_rounds[scenario.name].append(result)
    for scenario in runnable:
        if scenario.method != "GET":
            rounds[scenario.name].append(measure(scenario, bases, token, args, first=True))
    served = 0
    for scenario in runnable:
        scenario.result = load.median_round(rounds[scenario.name])
        if nginx_rounds.get(scenario.name):
            scenario.result["via_nginx"] = load.median_round(nginx_rounds[scenario.name])
        if scenario.target == "folio":
            served += sum(result["requests"] for result in rounds[scenario.name])
        print(f"{scenario.name:28} {scenario.result}", flush=True)
    return served


def available(scenario, bases):
    base = bases[scenario.target]
    if scenario.path.startswith("/api/articles") and probe(f"{base}{scenario.path}", 60) == 404:
        scenario.note = "skipped: /api/articles is 404 (Conduit blueprint not merged)"
        print(f"{scenario.name:28} {scenario.note}", flush=True)
        return False
    return True


def measure(scenario, bases, token, args, *, first):
    """One wrk run after a warm-up: the full `--warmup` the first time, 1 s after."""
    base = bases[scenario.target]
    result = load.measure(
        base,
        scenario,
        token,
        warmup=args.warmup if first else 1,
        seconds=args.seconds,
        connections=args.connections,
    )
    drain(base)
    print(f"  {scenario.name:26} {scenario.target:6} {result['rps']:>8.1f} req/s", flush=True)
    return result


def concurrency(bases, args):
    """List page 1 at 16, 64 and 256 connections, directly and through nginx:
    what the sync workers' queue does to clients that arrive together."""
    scenario = load.Scenario("list page 1 (cursor)", "/api/v1/posts?per_page=20")
    rows = []
    for target in [name for name in ("folio", "nginx") if name in bases]:
        for connections in CONCURRENCY:
            result = load.measure(
                bases[target],
                scenario,
                None,
                warmup=1,
                seconds=args.seconds,
                connections=connections,
            )
            drain(bases[target])
            rows.append({"target": target, "connections": connections, **result})
            print(
                f"  concurrency {target:6} c{connections:<4} {result['rps']:>8.1f} req/s "
                f"p99 {result['p99_ms']} ms, {result['timeouts']} timeouts",
                flush=True,
            )
    return rows


def soak_and_measure_memory(process, base, served, args):
    """Serve `--soak` requests in all (or stop after `--soak-seconds`), then read each
    worker's RSS; the report says how many requests the workers had served."""
    deadline = time.monotonic() + args.soak_seconds
    while served < args.soak and time.monotonic() < deadline:
        seconds = max(5, min(60, (args.soak - served) // 400 + 1))
        scenario = load.Scenario("soak", "/api/v1/posts?per_page=20")
        served += load.run_wrk(
            f"{base}{scenario.path}",
            load.lua_script(scenario, None),
            seconds=seconds,
            connections=args.connections,
        )["requests"]
    workers = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    rss = [int(rss_kib(pid)) / 1024 for pid in workers]
    return {"requests_served": served, "worker_rss_mb": [round(mb, 1) for mb in rss]}


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return line.split()[1]
    return 0


def forget_bench_posts(database, seeded_max):
    """Delete the posts the run created (the database's triggers take them out of
    the maintained counts, app/models/counting.py)."""
    with psycopg.connect(database) as conn:
        conn.execute("DELETE FROM posts WHERE id > %s", (seeded_max,))


GUNICORN = [sys.executable, "-m", "gunicorn"]


def folio_server(env, base):
    """Folio's gunicorn, as shipped (gunicorn.conf.py), answering at `base`."""
    return server([*GUNICORN, "-c", "gunicorn.conf.py", "wsgi:app"], env, f"{base}/health")


def measure_layers(args, env, post_id):
    """The per-layer scenario, with the limiter's counters fresh in Redis."""
    registration_flood.forget_counters(args.redis)
    return layers.measure(
        env, folio_server, args.port + 10, post_id, rounds=args.rounds, seconds=args.seconds
    )


def main():
    args = arguments()
    env = folio_env(args)
    started = time.monotonic()
    load_before = os.getloadavg()
    if not args.bare:
        require_redis(args.redis)
    prepare_database(args, env)
    with psycopg.connect(args.database) as conn:
        seeded_max, post_id = conn.execute(
            "SELECT max(id), min(id) FILTER (WHERE status = 'published') FROM posts"
        ).fetchone()
    if args.flood_only:
        flood = registration_flood.measure(args, args.port + 2, post_id)
        run = report.build_flood(flood, args, load_before, time.monotonic() - started)
        report.write_flood(run, ROOT / "bench" / "results")
        return
    if args.layers_only:
        print(report.layers_table(measure_layers(args, env, post_id)))
        return
    bases = {
        "folio": f"http://127.0.0.1:{args.port}",
        "floor": f"http://127.0.0.1:{args.port + 1}",
    }
    if not args.bare:
        bases["nginx"] = f"http://127.0.0.1:{args.port + 3}"
        registration_flood.forget_counters(args.redis)
    floor_env = {**env, "FLOOR_DATABASE_URL": args.database}
    with ExitStack() as stack:
        folio = stack.enter_context(folio_server(env, bases["folio"]))
        if "nginx" in bases:
            nginx_env = {**env, "PORT": str(args.port + 3)}
            serve = [sys.executable, "deploy/serve.py"]
            stack.enter_context(server(serve, nginx_env, f"{bases['nginx']}/health"))
        floor_command = [
            *GUNICORN,
            "-c",
            "bench/floor_gunicorn.conf.py",
            "-w",
            str(args.workers),
            "-b",
            bases["floor"][7:],
            "bench.floor:app",
        ]
        stack.enter_context(server(floor_command, floor_env, f"{bases['floor']}/api/v1/posts"))
        token = sign_in(bases["folio"], args.database)
        items = scenarios(env, args.database, post_id)
        try:
            served = run_all(items, bases, token, args)
            crowds = concurrency(bases, args)
            memory = soak_and_measure_memory(folio, bases["folio"], served, args)
        finally:
            forget_bench_posts(args.database, seeded_max)
    per_layer = None if args.bare else measure_layers(args, env, post_id)
    flood = registration_flood.measure(args, args.port + 2, post_id)
    run = report.build(items, memory, args, load_before, time.monotonic() - started)
    run["configuration"] = configuration(args)
    run["concurrency"] = crowds
    run["layers"] = per_layer
    run["registration_flood"] = flood
    run["mail_latency"] = mail_latency.measure(mail_latency.arguments([]))
    report.write(run, ROOT / "bench" / "results")


if __name__ == "__main__":
    main()
