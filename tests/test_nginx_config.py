"""deploy/folio.conf.template on its own: nginx's answers when gunicorn cannot answer.

`make serve` stops nginx when gunicorn dies, so these run nginx alone, from
the same rendered config, in front of a socket nobody listens on (502) and
one that accepts and never answers (504); and the body limit the rendered
config takes from MAX_CONTENT_LENGTH. In front of several stand-in instances
(tiny servers on unix sockets that count what reaches them): reads are
balanced and passed on to another instance when one fails, writes never are.
The last test keeps docker-compose's nginx service in step with the
template's variables.
"""

import json
import re
import socket
import socketserver
import subprocess
import threading
from collections import Counter

import pytest

from config import BASE_DIR
from tests.servers import exchange, free_port, require_tools, serve_script, wait_until

pytestmark = pytest.mark.processes  # starts servers or other processes

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def serve():
    module = serve_script()
    require_tools([module.find_nginx() or "nginx"], "Debian package nginx")
    return module


def accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        return True
    except OSError:
        return False


@pytest.fixture
def nginx_in_front_of(serve, tmp_path):
    """Start nginx with the site template in front of `upstream` (one address or a
    list of them); yields its port."""
    started = []

    def start(upstream, **settings):
        port = free_port()
        environ = {"PORT": str(port), **{name: str(value) for name, value in settings.items()}}
        upstreams = upstream if isinstance(upstream, list) else [upstream]
        values = serve.nginx_settings(environ, upstreams)
        config = serve.write_nginx_config(tmp_path, values)
        with open(tmp_path / "nginx.log", "w") as log:
            started.append(
                subprocess.Popen(
                    serve.nginx_command(serve.find_nginx(), tmp_path, config),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        wait_until(lambda: accepts(port), 10, f"nginx did not start; see {tmp_path}/nginx.log")
        return port

    yield start
    for process in started:
        process.terminate()
        process.wait(10)


def assert_problem(answer, status):
    answered, headers, body = answer
    assert (answered, headers["content-type"]) == (status, PROBLEM)
    problem = json.loads(body)
    assert problem["status"] == status
    assert problem["title"] and problem["detail"] and problem["request_id"]


GET_HEALTH = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def test_gunicorn_down_is_a_502_problem(nginx_in_front_of, tmp_path):
    port = nginx_in_front_of(f"unix:{tmp_path / 'nobody-listens.sock'}")
    assert_problem(exchange(port, GET_HEALTH), 502)


def test_gunicorn_too_slow_is_a_504_problem(nginx_in_front_of, tmp_path):
    with socket.socket(socket.AF_UNIX) as never_answers:
        never_answers.bind(str(tmp_path / "stuck.sock"))
        never_answers.listen(16)  # connections wait in the backlog, never accepted
        port = nginx_in_front_of(f"unix:{tmp_path / 'stuck.sock'}", NGINX_PROXY_READ_TIMEOUT_S=1)
        assert_problem(exchange(port, GET_HEALTH), 504)


def test_the_body_limit_follows_max_content_length(nginx_in_front_of, tmp_path):
    port = nginx_in_front_of(f"unix:{tmp_path / 'nobody-listens.sock'}", MAX_CONTENT_LENGTH=2048)
    post = (
        b"POST /auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
    )
    assert_problem(exchange(port, post % 2049 + b" " * 2049), 413)
    assert_problem(exchange(port, post % 2048 + b" " * 2048), 502)  # passed on, to nobody


class StandIn(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """An instance on a unix socket that counts the requests reaching it, by method;
    it answers 200 naming itself, or, when `broken`, reads the request and closes
    the connection without a word, as a worker killed mid-request does."""

    daemon_threads = True

    def __init__(self, path, broken=False):
        self.broken = broken
        self.received = Counter()
        super().__init__(str(path), StandInHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def address(self):
        return f"unix:{self.server_address}"


class StandInHandler(socketserver.StreamRequestHandler):
    def handle(self):
        request_line = self.rfile.readline().decode()
        length = 0
        while (line := self.rfile.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        self.rfile.read(length)
        self.server.received[request_line.split()[0]] += 1
        if not self.server.broken:
            body = self.server.server_address.encode()
            # "Connection: close", as gunicorn's sync workers answer: a connection
            # nginx kept for reuse would be closed under it, a race on a busy host.
            head = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
            self.wfile.write(head % len(body) + body)


@pytest.fixture
def stand_ins(tmp_path):
    """`make(broken=...)` starts a stand-in instance; all are shut down at the end."""
    started = []

    def make(broken=False):
        started.append(StandIn(tmp_path / f"instance-{len(started)}.sock", broken))
        return started[-1]

    yield make
    for server in started:
        server.shutdown()
        server.server_close()


def request(port, method, body=b"", path="/api/v1/posts/1"):
    raw = b"%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" % (method.encode(), path.encode())
    return exchange(port, raw + b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


def test_reads_are_balanced_over_every_instance(nginx_in_front_of, stand_ins):
    instances = [stand_ins(), stand_ins()]
    port = nginx_in_front_of([instance.address for instance in instances])
    for _ in range(6):
        assert request(port, "GET")[0] == 200
    assert [instance.received["GET"] for instance in instances] == [3, 3]


def test_a_read_an_instance_fails_is_answered_by_another(nginx_in_front_of, stand_ins):
    broken, working = stand_ins(broken=True), stand_ins()
    port = nginx_in_front_of([broken.address, working.address])
    for _ in range(4):
        status, _, body = request(port, "GET")
        assert (status, body.decode()) == (200, working.server_address)
    assert broken.received["GET"] == 1  # then left out for fail_timeout


def test_a_read_every_instance_fails_is_tried_twice_then_a_502(nginx_in_front_of, stand_ins):
    instances = [stand_ins(broken=True) for _ in range(3)]
    port = nginx_in_front_of([instance.address for instance in instances])
    assert_problem(request(port, "GET"), 502)
    assert sum(instance.received["GET"] for instance in instances) == 2


WRITES = {
    "POST": ("POST", "/api/v1/posts"),
    "PATCH": ("PATCH", "/api/v1/posts/1"),
    "PUT": ("PUT", "/api/articles/a-slug"),
    "DELETE": ("DELETE", "/api/v1/posts/1"),
    "PUT to a password path": ("PUT", "/api/user"),
    "PATCH to a password path": ("PATCH", "/auth/me"),
}


@pytest.mark.parametrize("method, path", WRITES.values(), ids=WRITES.keys())
def test_a_write_an_instance_fails_is_never_passed_on(nginx_in_front_of, stand_ins, method, path):
    """The instance may have applied it: a second one must not apply it again."""
    instances = [stand_ins(broken=True), stand_ins(broken=True)]
    port = nginx_in_front_of([instance.address for instance in instances])
    assert_problem(request(port, method, b'{"title": "once"}', path), 502)
    assert sum(instance.received[method] for instance in instances) == 1


def test_docker_compose_gives_nginx_every_variable_of_the_template(serve):
    template = (BASE_DIR / "deploy" / "folio.conf.template").read_text()
    compose = (BASE_DIR / "docker-compose.yml").read_text()
    nginx_service = compose[compose.index("\n  nginx:") :].split("\n  api:")[0]
    for name in set(serve.TEMPLATE_VARIABLE.findall(template)):
        assert re.search(rf"^\s+{name}: ", nginx_service, re.MULTILINE), name
