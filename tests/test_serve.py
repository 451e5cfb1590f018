"""`make serve`: nginx in front of gunicorn, as deploy/serve.py starts it.

Everything here goes through the real script, nginx and gunicorn, on a fresh
SQLite database: what a client sees (compression, nginx's own errors as
problem details, /metrics kept to the local host), what Folio believes about
the client (its real address, never a forged X-Forwarded-For), and how the
pair stops (SIGTERM, or one of them dying). Clients connect from other
loopback addresses (127.0.0.5) to stand for a remote client.
"""

import gzip
import http.client
import json
import os
import shutil
import signal
import socket
from pathlib import Path

import pytest

from tests.servers import (
    Serve,
    call,
    exchange,
    production_env,
    require_tools,
    serve_script,
    wait_until,
)

pytestmark = pytest.mark.processes  # starts servers or other processes

PROBLEM = "application/problem+json"
CLIENT = "127.0.0.5"  # a loopback address that is not 127.0.0.1: "somewhere else"
CLIENT_TIMEOUT_S = 2  # NGINX_CLIENT_TIMEOUT_S here, so dropping a slow client is quick
MAX_CONTENT_LENGTH = 1024 * 1024


@pytest.fixture(scope="module", autouse=True)
def nginx_installed():
    require_tools([serve_script().find_nginx() or "nginx"], "Debian package nginx")


def serve_env(scratch, **settings):
    return production_env(
        DATABASE_URL=f"sqlite:///{scratch / 'folio.db'}",
        LOG_LEVEL="INFO",  # Folio's access lines, to see what it believed
        NGINX_CLIENT_TIMEOUT_S=CLIENT_TIMEOUT_S,
        **settings,
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("serve")
    server = Serve(serve_env(scratch), scratch / "serve.log").start()
    yield server
    server.stop()


def access_line(server, request_id):
    [line] = [
        line
        for line in server.log_lines()
        if line.get("name") == "folio.access" and line.get("request_id") == request_id
    ]
    return line


def get(port, path, headers=b"", source="127.0.0.1"):
    raw = b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%sConnection: close\r\n\r\n"
    return exchange(port, raw % (path.encode(), port, headers), source=source)


def test_requests_go_through_nginx_to_folio(served):
    status, headers, body = get(served.port, "/health")
    assert status == 200
    assert headers["server"] == "nginx"
    assert json.loads(body)["status"] == "ok"
    assert headers["x-request-id"]  # Folio answered


def test_json_is_compressed_for_clients_that_ask(served):
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    try:
        connection.request("GET", "/openapi.json", headers={"Accept-Encoding": "gzip"})
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == 200
    assert response.getheader("Content-Encoding") == "gzip"
    assert response.getheader("Vary") == "Accept-Encoding"
    assert json.loads(gzip.decompress(body))["openapi"]


def test_behind_nginx_the_app_leaves_compression_to_it():
    """nginx gzips (folio.conf.template); the app's own gzip would be work done twice."""
    assert serve_script().app_environment({})["APP_COMPRESS"] == "false"


def test_folio_sees_the_clients_address_and_never_a_forged_one(served):
    forged = b"X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n"
    status, headers, _ = get(served.port, "/health", forged, source=CLIENT)
    assert status == 200
    assert access_line(served, headers["x-request-id"])["remote_addr"] == CLIENT


def test_links_use_the_scheme_and_host_the_client_used(served):
    forged = b"X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\n"
    status, headers, _ = get(served.port, "/api/v1/posts?page=1", forged, source=CLIENT)
    assert status == 200
    assert headers["link"].startswith(f"<http://127.0.0.1:{served.port}/api/v1/posts?")


def test_metrics_are_served_to_the_local_host(served):
    status, _, body = get(served.port, "/metrics")
    assert status == 200
    assert b"folio_http_requests_total" in body


@pytest.mark.parametrize("path", ["/metrics", "/metrics/", "/%6detrics", "/api/../metrics"])
def test_metrics_are_refused_to_anyone_else(served, path):
    status, headers, body = get(served.port, path, source=CLIENT)
    assert (status, headers["content-type"]) == (403, PROBLEM)
    assert json.loads(body)["status"] == 403


def chunked(total_bytes, chunk=64 * 1024):
    piece = b"%x\r\n%s\r\n" % (chunk, b" " * chunk)
    return piece * (total_bytes // chunk) + b"0\r\n\r\n"


POST = b"POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
TOO_LARGE = MAX_CONTENT_LENGTH + 64 * 1024
NGINX_ERRORS = {
    "body over MAX_CONTENT_LENGTH": (
        POST + b"Content-Length: %d\r\n\r\n" % TOO_LARGE + b" " * TOO_LARGE,
        413,
    ),
    "chunked body over MAX_CONTENT_LENGTH": (
        POST + b"Transfer-Encoding: chunked\r\n\r\n" + chunked(TOO_LARGE),
        413,
    ),
    "URL over 8 KiB": (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    "header line over 8 KiB": (
        b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
        431,
    ),
    "garbled request line": (b"NONSENSE\r\n\r\n", 400),
    "TRACE, which nginx refuses itself": (b"TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", 405),
    "HTTP/2.0 request line": (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    "nginx's own error page, asked for directly": (
        b"GET /.nginx-problem HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        404,
    ),
}


@pytest.mark.parametrize("raw, status", NGINX_ERRORS.values(), ids=NGINX_ERRORS.keys())
def test_nginx_answers_its_own_errors_as_problem_details(served, raw, status):
    answered, headers, body = exchange(served.port, raw, source=CLIENT)
    assert (answered, headers["content-type"]) == (status, PROBLEM)
    problem = json.loads(body)
    assert problem["status"] == status
    assert problem["type"] == "about:blank"
    assert problem["title"] and problem["detail"] and problem["request_id"]


def test_a_body_just_under_the_limit_reaches_folio(served):
    body = b'{"login": "nobody", "password": "%s"}'
    body %= b"x" * (MAX_CONTENT_LENGTH - len(body % b""))
    raw = POST + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
    status, headers, _ = exchange(served.port, raw)
    assert status == 422  # Folio read it all and refused the password's length
    assert headers["x-request-id"]


SLOW = {
    "headers": b"GET /health HTTP/1.1\r\nHost: x\r\n",
    "body": POST + b"Content-Length: 100\r\n\r\n{",
}


def stall(port, sent, source):
    """Send part of a request and stop; all the server sent before it closed."""
    with socket.create_connection(("127.0.0.1", port), CLIENT_TIMEOUT_S * 5, (source, 0)) as sock:
        sock.sendall(sent)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize("sent", SLOW.values(), ids=SLOW.keys())
def test_a_client_too_slow_to_send_its_request_is_dropped_and_logged(served, sent):
    """nginx closes the connection; an answer would only feed a client that stalls."""
    assert stall(served.port, sent, source="127.0.0.7") == b""
    path = "/health" if sent.startswith(b"GET") else "/auth/login"
    [dropped] = [
        line
        for line in served.log_lines()
        if line.get("name") == "nginx.access" and line["remote_addr"] == "127.0.0.7"
        if line["uri"] == path and line["status"] == 408
    ]
    assert dropped["upstream_status"] == ""  # gunicorn never saw it


def server_processes(server):
    """{name: pid} of the nginx and gunicorn masters started by deploy/serve.py."""
    pid = server.process.pid
    found = {}
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        command = Path(f"/proc/{child}/cmdline").read_bytes()
        found["gunicorn" if b"gunicorn" in command else "nginx"] = int(child)
    return found


def serve_directory(nginx_pid):
    """The temporary directory: "nginx: master process nginx -p <directory> -c ..."."""
    words = Path(f"/proc/{nginx_pid}/cmdline").read_bytes().replace(b"\0", b" ").split()
    return Path(words[words.index(b"-p") + 1].decode())


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


@pytest.mark.parametrize("stop", ["SIGTERM to the script", "gunicorn dies"])
def test_serve_stops_both_servers_and_cleans_up(tmp_path, stop):
    server = Serve(serve_env(tmp_path), tmp_path / "serve.log").start()
    try:
        processes = server_processes(server)
        nginx_pid, gunicorn_pid = processes["nginx"], processes["gunicorn"]
        directory = serve_directory(nginx_pid)
        assert (directory / "gunicorn-1.sock").exists()

        if stop == "gunicorn dies":
            os.kill(gunicorn_pid, signal.SIGKILL)
            assert server.process.wait(40) != 0
        else:
            assert server.stop() == 0
    finally:
        server.stop()  # whatever failed above, leave no server behind

    assert not alive(nginx_pid) and not alive(gunicorn_pid)
    assert not directory.exists()
    with pytest.raises(OSError):
        call(server.port, "GET", "/health", timeout=2)


def test_killing_the_script_still_stops_both_servers(tmp_path):
    """SIGKILL leaves no cleanup to the script: the kernel tells its servers."""
    server = Serve(serve_env(tmp_path), tmp_path / "serve.log").start()
    processes = server_processes(server)
    directory = serve_directory(processes["nginx"])
    try:
        server.process.kill()
        server.process.wait()
        wait_until(
            lambda: not any(map(alive, processes.values())),
            40,
            "nginx or gunicorn outlived the script",
        )
    finally:
        for pid in processes.values():
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(directory)  # the one thing a killed script cannot clean up


def gunicorn_masters(server):
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children if b"gunicorn" in Path(f"/proc/{c}/cmdline").read_bytes()]


def test_with_several_instances_one_dying_stops_nothing(tmp_path):
    """SERVE_INSTANCES=2: nginx reads from the survivor; the script keeps serving."""
    server = Serve(serve_env(tmp_path, SERVE_INSTANCES=2), tmp_path / "serve.log").start()
    try:
        first, second = gunicorn_masters(server)
        os.killpg(first, signal.SIGKILL)  # the instance: its master and its workers
        wait_until(lambda: not alive(first), 10, "the instance outlived SIGKILL")
        answers = [get(server.port, "/health")[0] for _ in range(10)]
        assert answers == [200] * 10
        assert server.process.poll() is None and alive(second)
        # The script notices the exit on its next look, not at once.
        wait_until(
            lambda: "gunicorn-1 exited" in server.log_path.read_text(), 10, "no word of the exit"
        )
        assert server.stop() == 0
    finally:
        server.stop()
    assert not alive(second)


def post(port, path, body, source):
    payload = json.dumps(body).encode()
    raw = (
        b"POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
    )
    return exchange(port, raw % (path.encode(), port, len(payload), payload), source=source)


def test_nginx_refuses_a_flood_of_password_work_before_any_worker_hashes(served):
    """Each sign-in or registration costs an argon2 hash: past a burst, nginx answers
    429 itself, so a flood from one address never reaches (or queues for) a worker."""
    flooder, bystander = "127.0.0.7", "127.0.0.8"
    body = {"login": "nobody", "password": "not the password"}
    answers = [post(served.port, "/auth/login", body, flooder) for _ in range(20)]
    # Folio's own counters refuse some first (5 wrong passwords per account and address);
    # the answers without Folio's X-Request-ID are nginx's, given without a worker.
    by_nginx = [answer for answer in answers if "x-request-id" not in answer[1]]
    assert len(by_nginx) >= 5, [status for status, _, _ in answers]
    status, headers, raw = by_nginx[0]
    assert status == 429
    assert headers["content-type"] == PROBLEM
    assert int(headers["retry-after"]) > 0
    assert json.loads(raw)["status"] == 429
    # The wall is per address, and reads are not behind it.
    assert post(served.port, "/auth/login", body, bystander)[0] == 401
    assert get(served.port, "/health", source=flooder)[0] == 200


def test_nginx_refuses_a_flood_of_password_resets_too(served):
    """A reset hashes the new password: the same wall as sign-in, per address."""
    flooder = "127.0.0.9"
    body = {"token": "not-a-token", "password": "a new passphrase"}
    answers = [post(served.port, "/auth/password/reset", body, flooder) for _ in range(20)]
    by_nginx = [answer for answer in answers if "x-request-id" not in answer[1]]
    assert len(by_nginx) >= 5, [status for status, _, _ in answers]
    assert by_nginx[0][0] == 429
