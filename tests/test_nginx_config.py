"""deploy/folio.conf.template on its own: nginx's answers when gunicorn cannot answer.

`make serve` stops nginx when gunicorn dies, so these run nginx alone, from
the same rendered config, in front of a socket nobody listens on (502) and
one that accepts and never answers (504); and the body limit the rendered
config takes from MAX_CONTENT_LENGTH. The last test keeps docker-compose's
nginx service in step with the template's variables.
"""

import json
import re
import socket
import subprocess

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
    """Start nginx with the site template in front of `upstream`; yields its port."""
    started = []

    def start(upstream, **settings):
        port = free_port()
        environ = {"PORT": str(port), **{name: str(value) for name, value in settings.items()}}
        values = {**serve.nginx_settings(environ, "unused"), "FOLIO_UPSTREAM": upstream}
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


def test_docker_compose_gives_nginx_every_variable_of_the_template(serve):
    template = (BASE_DIR / "deploy" / "folio.conf.template").read_text()
    compose = (BASE_DIR / "docker-compose.yml").read_text()
    nginx_service = compose[compose.index("\n  nginx:") :].split("\n  api:")[0]
    for name in set(serve.TEMPLATE_VARIABLE.findall(template)):
        assert re.search(rf"^\s+{name}: ", nginx_service, re.MULTILINE), name
