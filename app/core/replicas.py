"""Reads from PostgreSQL streaming replicas that never hide a user's own writes.

With `DATABASE_REPLICA_URLS` set, `database.reading_connection()` asks
`reading_engine_connection()` here for the read model's connection, outside a
request's writing transaction (a request that has written, or locked a row,
reads on the session's own connection, the primary's). Without it nothing
here runs.

Which server a read goes to, decided once per request at its first read:
- after this request committed a write: the primary;
- a signed-in user who wrote in the last 2 * REPLICA_MAX_LAG_S, on any
  instance: a replica only if it has replayed past the primary's WAL position
  after that write (remembered in Redis under the user's id by
  `remember_write_position`, right after the writing request's commit, before
  its answer leaves); else the primary. Without Redis there is nowhere to share
  the position: a signed-in reader then reads from the primary;
- anyone else: a replica at most REPLICA_MAX_LAG_S behind, else the primary.

How far behind a replica is, without trusting `pg_last_xact_replay_timestamp()`
(an idle primary makes a caught-up replica look old): each process samples the
primary's WAL position at most once a second (`PositionHistory`), and a replica
whose replayed position is past the sample taken at time t holds everything
committed before t. A replica that refuses connections is skipped for
DOWN_RETRY_S, without failing the request. Each of these checks is one cheap
query, made at most once a second per process and replica, or once per
request for a signed-in user who has just written.

`/metrics` shows each replica's lag and the reads sent to the primary instead,
by reason; `/health/ready` lists the replicas without failing on them.
"""

import logging
import random
import threading
import time
from collections import deque

from flask import current_app, g, has_app_context
from prometheus_client import Counter, Gauge
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

log = logging.getLogger("folio.replicas")

REPLICAS = "folio_replicas"  # app.extensions key: this app's ReplicaSet
CHECK_INTERVAL_S = 1.0  # how stale a replica's or the primary's known position may be
DOWN_RETRY_S = 5.0  # a replica that refused a connection is not asked again before this
WRITE_POSITION_KEY = "folio:write-position:{}"  # + the user's id

# pg_lsn as a byte offset: compared in Python, stored in Redis as a number.
PRIMARY_POSITION = text("SELECT (pg_current_wal_lsn() - '0/0')::bigint")
REPLAYED_POSITION = text(
    "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()"
    " ELSE pg_current_wal_lsn() END - '0/0')::bigint"
)

REPLICA_LAG = Gauge(
    "folio_db_replica_lag_seconds",
    "How far behind the primary each replica was at its last check (seconds)",
    ["replica"],
    multiprocess_mode="livemax",
)
READS = Counter(
    "folio_db_routed_reads", "Requests' reads by the server that served them", ["server"]
)
PRIMARY_FALLBACKS = Counter(
    "folio_db_primary_fallbacks",
    "Reads sent to the primary although replicas are configured, by reason",
    ["reason"],
)

# Keeps the later of two positions: a user's two requests may finish in either
# order, and the earlier write's position must not replace the later one's.
REMEMBER_LATER_POSITION = """
local known = redis.call('get', KEYS[1])
if known and tonumber(known) >= tonumber(ARGV[1]) then
    return redis.call('expire', KEYS[1], ARGV[2])
end
return redis.call('set', KEYS[1], ARGV[1], 'EX', ARGV[2])
"""

# --- g keys: this request's writing state, kept by the primary engine's events.
WROTE = "folio_wrote"  # the session's transaction has written or locked
COMMITTED_WRITE = "folio_committed_write"  # a write was committed in this request
WRITE_POSITION = "folio_write_position"  # the primary's WAL position after it


class PositionHistory:
    """The primary's WAL position sampled at most once per CHECK_INTERVAL_S,
    kept long enough to date any replica that is not too far behind."""

    def __init__(self, keep_s):
        self.keep_s = keep_s
        self.samples = deque()  # (monotonic time, position), oldest first
        self.lock = threading.Lock()

    def due(self, now):
        return not self.samples or now - self.samples[-1][0] >= CHECK_INTERVAL_S

    def add(self, now, position):
        with self.lock:
            self.samples.append((now, position))
            while self.samples and now - self.samples[0][0] > self.keep_s:
                self.samples.popleft()

    def lag_s(self, replayed, now):
        """Seconds the replica may be missing: 0 when it has replayed the last sample,
        else the age of the newest sample it has passed (inf: older than kept)."""
        with self.lock:
            samples = list(self.samples)
        if samples and replayed >= samples[-1][1]:
            return 0.0
        passed = [sampled_at for sampled_at, position in samples if position <= replayed]
        return now - passed[-1] if passed else float("inf")


class Replica:
    def __init__(self, url, engine):
        parsed = make_url(url)
        self.name = f"{parsed.host}:{parsed.port or 5432}/{parsed.database}"  # no password
        self.engine = engine
        self.replayed = -1  # its last known replayed position (only ever grows)
        self.checked_at = float("-inf")
        self.lag_s = float("inf")
        self.down_until = float("-inf")


class ReplicaSet:
    """The app's replicas, the primary's position history, and the Redis client
    that shares users' write positions between instances."""

    def __init__(self, replicas, primary_reader, max_lag_s, redis):
        self.replicas = replicas
        self.primary_reader = primary_reader
        self.max_lag_s = max_lag_s
        self.remember_s = max(1, 2 * max_lag_s)
        self.redis = redis
        self.remember_later = redis.register_script(REMEMBER_LATER_POSITION) if redis else None
        self.history = PositionHistory(keep_s=self.remember_s + 2 * CHECK_INTERVAL_S)

    # --- Choosing
    def connect(self, user_id):
        """A connection of a replica fresh enough for this reader, or None (the
        primary), with the reason counted."""
        if g.get(COMMITTED_WRITE):
            return self.fall_back("this_request_wrote")
        needed = None
        if user_id is not None:
            needed, reason = self.users_write_position(user_id)
            if reason:
                return self.fall_back(reason)
        reasons = []
        for replica in random.sample(self.replicas, len(self.replicas)):
            connection, reason = self.try_replica(replica, needed)
            if connection is not None:
                READS.labels("replica").inc()
                return connection
            reasons.append(reason)
        return self.fall_back(min(reasons))  # one reason per read, alphabetically first

    def fall_back(self, reason):
        READS.labels("primary").inc()
        PRIMARY_FALLBACKS.labels(reason).inc()
        return None

    def users_write_position(self, user_id):
        """(the user's last write position or None, a reason to use the primary or None)."""
        if self.redis is None:
            return None, "signed_in_without_redis"
        try:
            value = self.redis.get(WRITE_POSITION_KEY.format(user_id))
        except Exception as error:  # Redis away: the primary is always fresh enough
            log.warning("replicas: Redis did not answer: %s", error)
            return None, "redis_down"
        return (int(value) if value is not None else None), None

    def try_replica(self, replica, needed):
        now = time.monotonic()
        if now < replica.down_until:
            return None, "replica_down"
        try:
            connection = replica.engine.connect()
        except SQLAlchemyError as error:
            self.mark_down(replica, now, error)
            return None, "replica_down"
        try:
            fresh_enough = self.fresh_enough(replica, connection, needed, now)
        except SQLAlchemyError as error:
            connection.close()
            self.mark_down(replica, now, error)
            return None, "replica_down"
        if fresh_enough is not None:
            connection.close()
            return None, fresh_enough
        return ReplicaConnection(connection, replica, self), None

    def fresh_enough(self, replica, connection, needed, now):
        """None when the replica may serve this read, else the reason it may not."""
        if now - replica.checked_at >= CHECK_INTERVAL_S:
            self.check(replica, connection, now)
        if needed is not None:
            if replica.replayed < needed:  # maybe it has replayed since: ask once
                self.note_replayed(replica, connection.scalar(REPLAYED_POSITION))
            return None if replica.replayed >= needed else "behind_own_write"
        return None if replica.lag_s <= self.max_lag_s else "replica_lagging"

    def check(self, replica, connection, now):
        if self.history.due(now):
            with self.primary_reader.connect() as primary:
                self.history.add(now, primary.scalar(PRIMARY_POSITION))
        self.note_replayed(replica, connection.scalar(REPLAYED_POSITION))
        replica.lag_s = self.history.lag_s(replica.replayed, now)
        replica.checked_at = now
        REPLICA_LAG.labels(replica.name).set(min(replica.lag_s, self.history.keep_s))

    @staticmethod
    def note_replayed(replica, position):
        replica.replayed = max(replica.replayed, position)

    def mark_down(self, replica, now, error):
        if now >= replica.down_until:  # once per outage window, not per request
            log.warning("replicas: %s skipped for %ss: %s", replica.name, DOWN_RETRY_S, error)
        replica.down_until = now + DOWN_RETRY_S

    # --- Remembering
    def remember(self, user_id, position):
        if self.redis is None:
            return
        try:
            key = WRITE_POSITION_KEY.format(user_id)
            self.remember_later(keys=[key], args=[position, self.remember_s])
        except Exception as error:  # its reads will find Redis away too: the primary
            log.warning("replicas: Redis did not answer: %s", error)

    def dispose(self, close=True):
        """Drop the replicas' pools (a forked worker must not share them)."""
        for replica in self.replicas:
            replica.engine.dispose(close=close)

    # --- Reporting
    def states(self):
        """{replica: "ok" | "lagging" | "down"}, asked now (readiness)."""
        states = {}
        for replica in self.replicas:
            now = time.monotonic()
            try:
                with replica.engine.connect() as connection:
                    self.check(replica, connection, now)
            except SQLAlchemyError as error:
                self.mark_down(replica, now, error)
                states[replica.name] = "down"
                continue
            states[replica.name] = "ok" if replica.lag_s <= self.max_lag_s else "lagging"
        return states


class ReplicaConnection:
    """A replica's connection that, should the replica go away mid-request,
    reads again from the primary: the read model's statements are reads in
    autocommit, safe to repeat, so a replica stopping fails no request."""

    def __init__(self, connection, replica, replicas):
        self.connection, self.replica, self.replicas = connection, replica, replicas
        self.on_primary = False

    def execute(self, *args, **kwargs):
        return self.run("execute", args, kwargs)

    def scalar(self, *args, **kwargs):
        return self.run("scalar", args, kwargs)

    def run(self, method, args, kwargs):
        try:
            return getattr(self.connection, method)(*args, **kwargs)
        except DBAPIError as error:
            if self.on_primary or not error.connection_invalidated:
                raise
            self.replicas.mark_down(self.replica, time.monotonic(), error)
            self.replicas.fall_back("replica_down")
            self.connection.close()
            self.connection = self.replicas.primary_reader.connect()
            self.on_primary = True
            return getattr(self.connection, method)(*args, **kwargs)

    def __getattr__(self, name):  # dialect, and anything else read from a connection
        return getattr(self.connection, name)

    def close(self):
        self.connection.close()


def init_replicas(app, primary_engine, primary_reader, hooks):
    """Engines for DATABASE_REPLICA_URLS (the primary's read-only engine's
    options), and the events that track a request's writes on the primary.

    `hooks`: database.py's `engine_options`, `attach_listeners` and
    `close_reading_connection` (this module is below it, and imports none of it).
    """
    urls = app.config.get("DATABASE_REPLICA_URLS") or []
    if not urls:
        return
    replicas = []
    for url in urls:
        options = hooks.engine_options({**app.config, "SQLALCHEMY_DATABASE_URI": url})
        options["connect_args"] = {**options["connect_args"], "application_name": "folio-replica"}
        engine = create_engine(url, isolation_level="AUTOCOMMIT", **options)
        hooks.attach_listeners(engine)
        replicas.append(Replica(url, engine))
    redis = None
    if app.config.get("REDIS_URL"):
        from redis import Redis

        redis = Redis.from_url(
            app.config["REDIS_URL"], socket_connect_timeout=0.5, socket_timeout=0.5
        )
    replica_set = ReplicaSet(replicas, primary_reader, app.config["REPLICA_MAX_LAG_S"], redis)
    replica_set.close_reading_connection = hooks.close_reading_connection
    app.extensions[REPLICAS] = replica_set
    event.listen(primary_engine, "before_cursor_execute", note_a_write)
    event.listen(primary_engine, "commit", note_a_commit)
    event.listen(primary_engine, "rollback", forget_the_write)
    app.after_request(remember_write_position)


def replica_set():
    return current_app.extensions.get(REPLICAS)


# --- Tracking a request's writes (events on the primary engine only).
def on_the_session(connection):
    """A transactional connection of a request: the session's (the read model's
    connections are in autocommit)."""
    autocommit = connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
    return not autocommit and has_app_context()


def writes(statement):
    """Anything but a plain SELECT writes or locks (FOR UPDATE, FOR SHARE)."""
    return statement.lstrip()[:6].upper() != "SELECT" or " FOR " in statement.upper()


def note_a_write(connection, cursor, statement, parameters, context, executemany):
    if on_the_session(connection) and not g.get(WROTE) and writes(statement):
        setattr(g, WROTE, True)


def note_a_commit(connection):
    if on_the_session(connection) and g.pop(WROTE, False):
        setattr(g, COMMITTED_WRITE, True)
        replica_set().close_reading_connection()  # one taken before would not show it


def forget_the_write(connection):
    if on_the_session(connection):
        g.pop(WROTE, None)


def remember_write_position(response):
    """After a signed-in user's committed write, before the answer leaves: the
    primary's WAL position, under the user's id, for their next reads anywhere."""
    user_id = g.get("user_id")
    if g.get(COMMITTED_WRITE) and user_id is not None and WRITE_POSITION not in g:
        replicas = replica_set()
        try:
            with replicas.primary_reader.connect() as primary:
                setattr(g, WRITE_POSITION, primary.scalar(PRIMARY_POSITION))
        except SQLAlchemyError as error:
            log.warning("replicas: the primary's position is unknown: %s", error)
            return response
        replicas.remember(user_id, g.get(WRITE_POSITION))
    return response


def reading_engine_connection():
    """A replica's connection for this request's reads, or None for the primary."""
    replicas = replica_set()
    if replicas is None:
        return None
    return replicas.connect(g.get("user_id"))


def may_leave():
    """Whether a read inside the session's transaction may use another server's
    connection: with replicas, until the transaction writes or locks."""
    return REPLICAS in current_app.extensions and not g.get(WROTE)
