"""Password endpoints: guessing is throttled per account and address, and the hashing
work itself is bounded per address and in concurrency (app/core/throttle.py)."""

import http.client
import json
import os
import subprocess
import sys
import threading

import pytest
from werkzeug.serving import make_server

from config import BASE_DIR
from tests.conftest import PASSWORD, bearer
from tests.servers import Gunicorn, free_port, production_env

WRONG = "wrong password"
HOME = "10.0.0.1"  # the owner's usual address
ELSEWHERE = "10.6.6.6"


def attempt(client, login, password=WRONG, address=HOME, route="/auth/login"):
    """One sign-in through /auth/login or Conduit's /api/users/login."""
    if route == "/auth/login":
        body = {"login": login, "password": password}
    else:
        body = {"user": {"email": login, "password": password}}
    return client.post(route, json=body, environ_base={"REMOTE_ADDR": address})


def register(client, name, address=HOME, route="/auth/register"):
    account = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    body = account if route == "/auth/register" else {"user": account}
    return client.post(route, json=body, environ_base={"REMOTE_ADDR": address})


def assert_too_many(response):
    assert response.status_code == 429, response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0


# --- guessing: one account counter, one address counter, every route ---------------------


def test_failures_for_one_account_are_limited_with_retry_after(client, make_user):
    make_user("alice")
    assert [attempt(client, "alice").status_code for _ in range(5)] == [401] * 5
    blocked = attempt(client, "ALICE", password=PASSWORD)
    assert_too_many(blocked)
    assert blocked.mimetype == "application/problem+json"
    assert blocked.get_json()["status"] == 429


def test_email_and_username_spellings_share_one_account_counter(client, make_user):
    make_user("alice")
    spellings = ["alice", "alice@example.com", "Alice", "ALICE@EXAMPLE.COM", " alice "]
    assert [attempt(client, login).status_code for login in spellings] == [401] * 5
    assert_too_many(attempt(client, "alice@example.com", password=PASSWORD))


def test_both_sign_in_routes_share_one_account_counter(client, make_user):
    make_user("alice")
    routes = ["/auth/login", "/api/users/login"] * 3
    statuses = [attempt(client, "alice@example.com", route=r).status_code for r in routes[:5]]
    assert statuses == [401] * 5
    assert_too_many(attempt(client, "alice", password=PASSWORD))
    assert (
        attempt(client, "alice@example.com", PASSWORD, route="/api/users/login").status_code == 429
    )


def test_wrong_current_passwords_count_against_the_same_account(client, make_user, login):
    make_user("alice")
    headers = bearer(login("alice")["access_token"])
    change = {"current_password": WRONG, "new_password": "a brand new passphrase"}
    for _ in range(3):
        assert attempt(client, "alice").status_code == 401
    for _ in range(2):
        response = client.post(
            "/auth/password", json=change, headers=headers, environ_base={"REMOTE_ADDR": HOME}
        )
        assert response.status_code == 403
    assert_too_many(attempt(client, "alice", password=PASSWORD))


def test_wrong_current_passwords_on_an_email_change_count_too(client, make_user, login):
    """PATCH /auth/me checks current_password when a stale token changes the email: a
    stolen token must not turn it into an unthrottled password oracle."""
    make_user("alice")
    headers = bearer(login("alice")["access_token"])
    change = {"email": "new@example.com", "current_password": WRONG}
    for _ in range(5):
        response = client.patch(
            "/auth/me", json=change, headers=headers, environ_base={"REMOTE_ADDR": HOME}
        )
        assert response.status_code == 403
    assert_too_many(attempt(client, "alice", password=PASSWORD))


def test_profile_changes_without_a_password_are_not_password_work(make_app, make_user, login):
    app = make_app(RATELIMIT_PASSWORD_PER_ADDRESS="2/minute")
    client = app.test_client()
    make_user("alice")
    response = client.post("/auth/login", json={"login": "alice", "password": PASSWORD})
    headers = bearer(response.get_json()["access_token"])
    for bio in ("one", "two", "three"):
        response = client.patch("/auth/me", json={"bio": bio}, headers=headers)
        assert response.status_code == 200, response.get_json()


def test_one_address_cannot_exceed_its_limit_across_routes(client, make_user):
    make_user("alice")
    routes = ["/auth/login", "/api/users/login"]
    for i in range(20):
        assert attempt(client, f"user{i}@example.com", route=routes[i % 2]).status_code == 401
    assert_too_many(attempt(client, "alice", password=PASSWORD))
    assert_too_many(attempt(client, "alice@example.com", PASSWORD, route="/api/users/login"))
    # another address is not affected
    assert attempt(client, "alice", password=PASSWORD, address="10.9.9.9").status_code == 200


def test_unknown_logins_are_throttled_like_real_ones(client):
    assert [attempt(client, "nobody").status_code for _ in range(5)] == [401] * 5
    assert_too_many(attempt(client, "NOBODY"))


def test_successful_logins_are_not_counted_as_failures(client, make_user):
    make_user("alice")
    for _ in range(8):
        assert attempt(client, "alice", password=PASSWORD).status_code == 200


def test_the_account_limit_is_configurable(make_app, make_user):
    app = make_app(RATELIMIT_LOGIN_PER_ACCOUNT="2/minute")
    make_user("alice")
    client = app.test_client()
    assert [attempt(client, "alice").status_code for _ in range(3)] == [401, 401, 429]


# --- lockout: an attacker elsewhere cannot lock the owner out at home ---------------------


@pytest.fixture
def ceiling_of_ten(make_app, make_user):
    """Alice, who signed in from HOME once; her account's ceiling is 10 failures an hour."""
    app = make_app(RATELIMIT_LOGIN_ACCOUNT_CEILING="10/hour")
    make_user("alice")
    client = app.test_client()
    assert attempt(client, "alice", password=PASSWORD).status_code == 200
    return client


def exhaust_ceiling(client):
    """Ten failures from two addresses, five each (each address's own limit)."""
    for address in ("10.6.0.1", "10.6.0.2"):
        assert [attempt(client, "alice", address=address).status_code for _ in range(5)] == [
            401
        ] * 5


def test_an_attacker_elsewhere_cannot_lock_the_owner_out_at_a_known_address(ceiling_of_ten):
    client = ceiling_of_ten
    exhaust_ceiling(client)
    assert attempt(client, "alice", password=PASSWORD).status_code == 200
    # the owner's own mistakes at home are still limited by the per-address counter
    assert attempt(client, "alice").status_code == 401


def test_past_the_ceiling_the_right_password_is_refused_at_other_addresses(ceiling_of_ten):
    client = ceiling_of_ten
    exhaust_ceiling(client)
    assert_too_many(attempt(client, "alice", password=PASSWORD, address=ELSEWHERE))
    assert_too_many(attempt(client, "alice@example.com", PASSWORD, ELSEWHERE, "/api/users/login"))


def test_past_the_limit_the_right_password_is_refused_at_that_address(client, make_user):
    make_user("alice")
    assert attempt(client, "alice", password=PASSWORD).status_code == 200
    for _ in range(5):
        assert attempt(client, "alice", address=ELSEWHERE).status_code == 401
    assert_too_many(attempt(client, "alice", password=PASSWORD, address=ELSEWHERE))
    assert attempt(client, "alice", password=PASSWORD).status_code == 200


@pytest.mark.redis
def test_counters_and_known_addresses_live_in_redis_when_configured(app, client, make_user):
    import redis

    from app.extensions import limiter

    assert app.config["RATELIMIT_STORAGE_URI"].startswith("folio+redis://")
    with app.app_context():
        assert type(limiter.storage).__name__ == "WindowRememberingRedisStorage"
    make_user("alice")
    assert attempt(client, "alice", password=PASSWORD).status_code == 200
    store = redis.Redis.from_url(os.environ["REDIS_URL"])
    assert store.keys("*known-address*")


# Flask-Limiter is one module-level object whose storage follows the last app
# made: an app whose Redis is down runs in a process of its own.
REDIS_DOWN_SCRIPT = """
import json, sys
from app import create_app
from app.extensions import db
from app.services import accounts
app = create_app("testing", SQLALCHEMY_DATABASE_URI=sys.argv[1])
with app.app_context():
    db.create_all()
    accounts.register(username="alice", email="alice@example.com", password="x" * 12)
    db.session.commit()
client = app.test_client()
def sign_in(password, address):
    body = {"login": "alice", "password": password}
    return client.post("/auth/login", json=body, environ_base={"REMOTE_ADDR": address}).status_code
print(json.dumps({
    "home": [sign_in("x" * 12, "10.0.0.1")],
    "elsewhere": [sign_in("wrong", "10.6.0.1") for _ in range(5)] + [sign_in("x" * 12, "10.6.0.1")],
}))
"""


@pytest.mark.processes
def test_sign_in_keeps_working_and_counting_when_redis_is_down(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    env.update({"APP_ENV": "testing", "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    url = f"sqlite:///{tmp_path / 'throttle.db'}"
    done = subprocess.run(
        [sys.executable, "-c", REDIS_DOWN_SCRIPT, url],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    # counted in memory instead: never a 500
    assert outcome == {"home": [200], "elsewhere": [401] * 5 + [429]}


# --- bounding the work: registrations and all password work per address ------------------


def test_registrations_from_one_address_are_limited_across_routes(make_app):
    client = make_app(RATELIMIT_REGISTER_PER_ADDRESS="3/hour").test_client()
    assert register(client, "ann").status_code == 201
    assert register(client, "ben", route="/api/users").status_code == 201
    assert register(client, "cat").status_code == 201
    assert_too_many(register(client, "dan", route="/api/users"))
    refused = register(client, "eve")
    assert_too_many(refused)
    assert refused.mimetype == "application/problem+json"
    assert register(client, "fay", address="10.9.9.9").status_code == 201


def test_every_password_check_counts_against_the_address_right_or_wrong(make_app, make_user):
    client = make_app(RATELIMIT_PASSWORD_PER_ADDRESS="4/minute").test_client()
    make_user("alice")
    assert attempt(client, "alice", password=PASSWORD).status_code == 200
    assert attempt(client, "alice", password=PASSWORD, route="/api/users/login").status_code == 200
    assert attempt(client, "bob").status_code == 401
    assert register(client, "ann").status_code == 201
    assert_too_many(attempt(client, "alice", password=PASSWORD))
    assert_too_many(register(client, "ben", route="/api/users"))
    assert attempt(client, "alice", password=PASSWORD, address="10.9.9.9").status_code == 200


def test_setting_a_password_through_conduit_counts_and_other_changes_do_not(make_app):
    client = make_app(RATELIMIT_PASSWORD_PER_ADDRESS="2/minute").test_client()
    token = register(client, "ann", route="/api/users").get_json()["user"]["token"]
    headers = {"Authorization": f"Token {token}"}

    def put(user):
        return client.put(
            "/api/user", json={"user": user}, headers=headers, environ_base={"REMOTE_ADDR": HOME}
        )

    for _ in range(3):
        assert put({"bio": "Still here."}).status_code == 200
    assert put({"password": "another good passphrase"}).status_code == 200
    assert_too_many(put({"password": "a third good passphrase"}))
    assert put({"bio": "Not a password change.", "password": ""}).status_code == 200


# --- bounding the work: concurrent hashes --------------------------------------------------


def test_a_hash_beyond_the_concurrency_cap_is_refused_at_once(make_app, make_user):
    from app.core.throttle import hash_slot

    app = make_app(PASSWORD_HASH_CONCURRENCY=1)
    make_user("alice")
    client = app.test_client()
    with app.app_context(), hash_slot():  # another thread of this process is hashing
        busy = attempt(client, "alice", password=PASSWORD)
        assert busy.status_code == 503
        assert busy.mimetype == "application/problem+json"
        assert busy.headers["Retry-After"] == "1"
        assert register(client, "ann").status_code == 503
    assert attempt(client, "alice", password=PASSWORD).status_code == 200


def test_the_hash_cap_defaults_to_half_the_cores_and_must_be_at_least_one():
    from config import ConfigError, ProductionConfig

    def cap(environ):
        return ProductionConfig(environ).PASSWORD_HASH_CONCURRENCY

    assert cap({}) == max(1, (os.cpu_count() or 1) // 2)
    assert cap({"PASSWORD_HASH_CONCURRENCY": "3"}) == 3
    with pytest.raises(ConfigError, match="PASSWORD_HASH_CONCURRENCY"):
        cap({"PASSWORD_HASH_CONCURRENCY": "0"})


# Slow enough that two sign-ins started together overlap (about a second each).
SLOW_ARGON2 = {"ARGON2_TIME_COST": 12, "ARGON2_MEMORY_KIB": 64 * 1024, "ARGON2_PARALLELISM": 1}


def post_json(port, path, body):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.getheader("Retry-After"), response.read()
    finally:
        connection.close()


@pytest.fixture
def threaded_server(make_app):
    """A threaded werkzeug server (as the dev server runs) allowing one hash at a time."""
    from app.extensions import db
    from app.services import accounts

    app = make_app(PASSWORD_HASH_CONCURRENCY=1, **SLOW_ARGON2)
    with app.app_context():  # hashed with the slow parameters, so that verifying is slow too
        accounts.register(username="alice", email="alice@example.com", password=PASSWORD)
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.port
    server.shutdown()
    thread.join()


# On SQLite every POST takes the database's write lock first, which queues the
# second sign-in before it reaches the cap: the race needs PostgreSQL.
@pytest.mark.postgres
def test_of_two_concurrent_sign_ins_with_a_cap_of_one_the_second_is_refused(threaded_server):
    start = threading.Barrier(2)
    answers = []

    def sign_in():
        start.wait()
        credentials = {"login": "alice", "password": PASSWORD}
        answers.append(post_json(threaded_server, "/auth/login", credentials))

    threads = [threading.Thread(target=sign_in) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _, _ in answers) == [200, 503]
    _, retry_after, body = max(answers)
    assert retry_after == "1"
    assert json.loads(body)["status"] == 503


@pytest.mark.processes
@pytest.mark.slow
def test_the_cap_holds_across_processes_sharing_a_slots_directory(
    make_app, make_user, database_url, tmp_path
):
    from app.core.throttle import hash_slot

    slots = tmp_path / "slots"
    settings = {"PASSWORD_HASH_CONCURRENCY": 1, "PASSWORD_HASH_SLOTS_DIR": str(slots)}
    env = production_env(DATABASE_URL=database_url, **settings)
    server = Gunicorn(env, tmp_path / "gunicorn.log").start()
    try:
        make_user("alice")
        credentials = {"login": "alice", "password": PASSWORD}
        with make_app(**settings).app_context(), hash_slot():  # another process is hashing
            status, content_type, _ = server.call("POST", "/auth/login", credentials)
        assert (status, content_type) == (503, "application/problem+json")
        assert server.call("POST", "/auth/login", credentials)[0] == 200
    finally:
        server.stop()


@pytest.mark.processes
@pytest.mark.postgres
@pytest.mark.slow
def test_gunicorn_workers_share_the_cap_as_shipped(make_app, database_url, tmp_path):
    """gunicorn.conf.py gives its workers one slots directory: each sync worker
    serves one request at a time, so a cap per process would never refuse."""
    from app.extensions import db
    from app.services import accounts

    with make_app(**SLOW_ARGON2).app_context():
        accounts.register(username="alice", email="alice@example.com", password=PASSWORD)
        db.session.commit()
    env = production_env(DATABASE_URL=database_url, PASSWORD_HASH_CONCURRENCY=1, **SLOW_ARGON2)
    env.pop("PASSWORD_HASH_SLOTS_DIR", None)
    server = Gunicorn(env, tmp_path / "gunicorn.log", workers=2).start()
    start = threading.Barrier(2)
    answers = []

    def sign_in():
        start.wait()
        credentials = {"login": "alice", "password": PASSWORD}
        answers.append(post_json(server.port, "/auth/login", credentials))

    try:
        threads = [threading.Thread(target=sign_in) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.stop()
    assert sorted(status for status, _, _ in answers) == [200, 503]


def test_counter_keys_stay_short_whatever_the_client_sends(app):
    """A login or email of a megabyte must not become a megabyte key in the counters'
    storage (Redis): keys from client text are digested past a bound."""
    from app.core.throttle import account_named, client_text_key
    from app.services.accounts import find_by_login

    huge = "A" * 500_000
    with app.test_request_context():
        assert len(account_named(huge, find_by_login)) < 100
        assert len(client_text_key("email", huge)) < 100
        # Ordinary values keep their readable, case-folded form.
        assert client_text_key("email", " Ann@Example.COM ") == "email:ann@example.com"
        assert client_text_key("email", huge) == client_text_key("email", huge.lower())
