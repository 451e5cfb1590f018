"""What replica routing costs on one host: list page 1 with and without it, and
how often reads fall back to the primary under a mix of 20% writes.

`python -m bench.replicas` (PostgreSQL's server binaries needed) makes the
cluster's database shape, a throwaway primary and a streaming replica of it
(tests/replication.py, as tests/test_replicas.py does), and two apps in this
process on it: one with DATABASE_REPLICA_URLS, one without. Requests go
through Flask's test client, so the figures are the app's own cost per request
(routing's checks included), not nginx's or gunicorn's. Rounds alternate
between the two apps so a busy machine slows both alike.

On one host a replica adds no capacity (both servers share the cores): what
matters is that routing costs little, and that the fallback rate stays low
when signed-in users write.
"""

import os
import random
import statistics
import time

from app import create_app
from app.core import replicas
from app.extensions import db
from tests.replication import StreamingReplica, connect, throwaway_primary

ROUNDS = 5
REQUESTS_PER_ROUND = 300
MIX_REQUESTS = 1000
WRITE_SHARE = 0.2
AUTHORS = 5
POSTS = 50
PASSWORD = "correct horse battery staple"
LIST = "/api/v1/posts"


def make_app(primary_port, replica_urls):
    return create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://postgres@127.0.0.1:{primary_port}/folio",
        DATABASE_REPLICA_URLS=replica_urls,
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/8"),
    )


def forget_write_positions(app):
    redis = app.extensions[replicas.REPLICAS].redis
    for key in redis.scan_iter(replicas.WRITE_POSITION_KEY.format("*")):
        redis.delete(key)


def sign_up(client, name):
    account = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    assert client.post("/auth/register", json=account).status_code == 201
    token = client.post("/auth/login", json={"login": name, "password": PASSWORD})
    return {"Authorization": f"Bearer {token.get_json()['access_token']}"}


def publish(client, author, title):
    post = {"title": title, "body": "Benched.", "status": "published"}
    response = client.post(LIST, json=post, headers=author)
    assert response.status_code == 201, response.get_json()


def wait_for_replay(primary_port, replica):
    with connect(primary_port) as connection:
        written = connection.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    for _ in range(300):
        if replica.execute(f"SELECT pg_last_wal_replay_lsn() >= '{written}'::pg_lsn")[0]:
            return
        time.sleep(0.1)
    raise SystemExit("bench: the replica did not catch up")


def requests_per_s(client, count):
    started = time.perf_counter()
    for _ in range(count):
        assert client.get(LIST).status_code == 200
    return count / (time.perf_counter() - started)


def list_throughput(routed, plain):
    figures = {"with replica routing": [], "primary only": []}
    for _ in range(ROUNDS):
        figures["with replica routing"].append(requests_per_s(routed, REQUESTS_PER_ROUND))
        figures["primary only"].append(requests_per_s(plain, REQUESTS_PER_ROUND))
    return figures


def counted():
    reads = {
        server: replicas.READS.labels(server)._value.get() for server in ("replica", "primary")
    }
    fallbacks = {
        metric.labels["reason"]: metric.value
        for family in replicas.PRIMARY_FALLBACKS.collect()
        for metric in family.samples
        if metric.name.endswith("_total")
    }
    return reads, fallbacks


def write_mix(client, authors):
    """MIX_REQUESTS requests: 20% posts by a random author; the rest list page 1,
    half of them signed in as a random author, half anonymous."""
    reads_before, fallbacks_before = counted()
    rng = random.Random(18)
    for number in range(MIX_REQUESTS):
        author = rng.choice(authors)
        if rng.random() < WRITE_SHARE:
            publish(client, author, f"mix {number}")
        else:
            headers = author if rng.random() < 0.5 else {}
            assert client.get(LIST, headers=headers).status_code == 200
    reads, fallbacks = counted()
    reads = {server: reads[server] - reads_before[server] for server in reads}
    fallbacks = {
        reason: value - fallbacks_before.get(reason, 0) for reason, value in fallbacks.items()
    }
    return reads, {reason: value for reason, value in fallbacks.items() if value}


def main():
    with throwaway_primary() as primary_port:
        replica = StreamingReplica(primary_port).start()
        try:
            plain_app = make_app(primary_port, [])
            routed_app = make_app(primary_port, [replica.url])
            forget_write_positions(routed_app)  # left by an earlier run's users of these ids
            with plain_app.app_context():
                db.create_all()
            plain, routed = plain_app.test_client(), routed_app.test_client()
            authors = [sign_up(plain, f"author{number}") for number in range(AUTHORS)]
            for number in range(POSTS):
                publish(plain, authors[number % AUTHORS], f"post {number}")
            wait_for_replay(primary_port, replica)
            requests_per_s(routed, 50), requests_per_s(plain, 50)  # warm both
            throughput = list_throughput(routed, plain)
            reads, fallbacks = write_mix(routed, authors)
        finally:
            replica.remove()
    print(f"list page 1, {ROUNDS} alternating rounds of {REQUESTS_PER_ROUND} requests (req/s):")
    for name, values in throughput.items():
        rounds = " ".join(f"{value:.0f}" for value in values)
        print(f"  {name:22} median {statistics.median(values):6.0f}  (rounds: {rounds})")
    total = sum(reads.values())
    print(
        f"mix of {MIX_REQUESTS} requests, {WRITE_SHARE:.0%} writes: {total:.0f} routed reads, "
        f"{reads['primary']:.0f} on the primary ({reads['primary'] / total:.1%}); by reason: "
        + (", ".join(f"{reason} {value:.0f}" for reason, value in fallbacks.items()) or "none")
    )


if __name__ == "__main__":
    main()
