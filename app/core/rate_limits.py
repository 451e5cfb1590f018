"""Rate limits for the whole API (Flask-Limiter), keyed by user or client address.

Every endpoint shares `RATELIMIT_DEFAULT` (e.g. 300/minute), counted per
signed-in user when the request carries a valid access token and per client
address otherwise (behind a proxy, set PROXY_FIX_X_FOR so the address is the
client's). Login has its own stricter limits (app/core/throttle.py).

Counters live in Redis when REDIS_URL is set, so limits hold across gunicorn
workers and hosts. If Redis stops answering, Flask-Limiter counts in memory
per process (and logs it) rather than failing requests: the API keeps serving.

One Redis round trip per limited request: Flask-Limiter asks the storage twice
(the hit, then the window for the X-RateLimit-* headers), and
`WindowRememberingRedisStorage` answers the second from the first (its Lua
script acquires the entry and counts the window in one call). The moving
window is kept, for every limit: the login and password limits' bounds hold
across a window's edge. Measured on `GET /api/v1/tags` (bench/layers.py,
worker CPU per request): see `WindowRememberingRedisStorage`.

Not limited: CORS preflights (a browser sends one before many real calls) and
the operational endpoints load balancers and scrapers poll.
"""

import threading
import time

from flask import g, request
from flask_jwt_extended import decode_token
from flask_limiter.util import get_remote_address
from limits.storage import RedisStorage

UNLIMITED_PREFIXES = ("/health", "/metrics", "/docs", "/openapi.json")


def client_key():
    """`user:<id>` for a valid access token, else the client's address."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() in ("bearer", "token") and token:
        try:
            claims = decode_token(token)
        except Exception:  # any invalid token: the view will answer 401; count by address
            return get_remote_address()
        if claims.get("type") == "access":
            return f"user:{claims['sub']}"
    return get_remote_address()


def exempt():
    return request.method == "OPTIONS" or request.path.startswith(UNLIMITED_PREFIXES)


def keep_retry_after_for_refusals(response):
    """Flask-Limiter adds Retry-After to every answer of a limited route; on a 200
    it would tell a client to back off from a request that succeeded. It stays on
    the answers it means something for: 429 and 503.

    Flask-Limiter also raises a refusal's own Retry-After to its window's reset
    (a minute, say); a refusal that set `g.retry_after_s` (a busy hash slot, free
    again within a second; the database, tried again in a few) keeps its own."""
    if response.status_code not in (429, 503):
        response.headers.remove("Retry-After")  # not pop(): no exception when it is absent
    elif "retry_after_s" in g:
        response.headers["Retry-After"] = str(g.retry_after_s)
    return response


# The moving window's acquisition (limits' acquire_moving_window.lua) and, in the
# same call, the window it leaves (limits' moving_window.lua): {acquired, oldest, count}.
ACQUIRE_AND_COUNT = """
local timestamp = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local expiry = tonumber(ARGV[3])
local amount = tonumber(ARGV[4])
local acquired = 0
if amount <= limit then
    local entry = redis.call('lindex', KEYS[1], limit - amount)
    if not (entry and tonumber(entry) >= timestamp - expiry) then
        local entries = {}
        for i = 1, amount do
            entries[i] = timestamp
        end
        for i = 1, #entries, 5000 do
            redis.call('lpush', KEYS[1], unpack(entries, i, math.min(i + 4999, #entries)))
        end
        redis.call('ltrim', KEYS[1], 0, limit - 1)
        redis.call('expire', KEYS[1], expiry)
        acquired = 1
    end
end
local low, high, found = 0, limit - 1, nil
while low <= high do
    local mid = math.floor((low + high) / 2)
    local value = tonumber(redis.call('lindex', KEYS[1], mid))
    if value and value >= timestamp - expiry then
        found = mid
        low = mid + 1
    else
        high = mid - 1
    end
end
if found then
    return {acquired, tostring(redis.call('lindex', KEYS[1], found)), found + 1}
end
return {acquired, tostring(timestamp), 0}
"""


class WindowRememberingRedisStorage(RedisStorage):
    """limits' Redis storage (`folio+redis://...`), whose hit also returns its window.

    Flask-Limiter hits each limit before the view and asks the storage for the
    window of the request's narrowest limit after it, for the X-RateLimit-*
    headers: two round trips. Here the hit's Lua script returns the window it
    leaves, remembered on this thread for this request only
    (`forget_remembered_windows` runs before each request), and the window
    asked for right after is answered from it; any other window goes to Redis
    as before. Worker CPU per request of `GET /api/v1/tags`, one worker, in one
    run of bench/layers.py: 1,478 us with two round trips (as before), see the
    report for the figure with one.
    """

    STORAGE_SCHEME = ["folio+redis", "folio+rediss"]

    def __init__(self, uri, **options):
        super().__init__(uri.removeprefix("folio+"), **options)
        self.remembered = threading.local()

    def initialize_storage(self, uri):
        super().initialize_storage(uri)
        self.lua_acquire_and_count = self.get_connection().register_script(ACQUIRE_AND_COUNT)

    def acquire_entry(self, key, limit, expiry, amount=1):
        timestamp = time.time()
        acquired, oldest, count = self.lua_acquire_and_count(
            [self.prefixed_key(key)], [timestamp, limit, expiry, amount]
        )
        windows = self.remembered.__dict__.setdefault("windows", {})
        windows[key, limit, expiry] = (float(oldest), int(count))
        return bool(acquired)

    def get_moving_window(self, key, limit, expiry):
        window = self.remembered.__dict__.get("windows", {}).pop((key, limit, expiry), None)
        return window if window is not None else super().get_moving_window(key, limit, expiry)

    def forget_windows(self):
        self.remembered.__dict__.pop("windows", None)


def forget_remembered_windows():
    """Before each request: no window remembered by an earlier request answers for
    this one (a check before a hit, as login limits make, goes to Redis)."""
    from app.extensions import limiter  # app.extensions imports this module

    storage = limiter.limiter.storage if limiter.enabled else None
    if isinstance(storage, WindowRememberingRedisStorage):
        storage.forget_windows()
