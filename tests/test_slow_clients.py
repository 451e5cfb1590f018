"""Slow clients cannot take the service offline behind `make serve`.

Issue: five sockets sending one header line every 2 s made every other
request to gunicorn alone time out. Here deploy/serve.py (nginx in front of
two sync workers) is held by 200 connections trickling their headers and 200
trickling a body for 20 s (bench/slow_clients.py, which can also aim at
gunicorn alone for the "before" figure), while an ordinary client asks
/health in a loop: none of its requests may fail or time out (5 s each). The
figures are printed; they are not asserted (speed is the benchmarks' job).
"""

import pytest

from bench.slow_clients import run
from tests.servers import Serve, production_env, require_tools, serve_script

pytestmark = pytest.mark.slow

SLOW_SOCKETS = 200  # of each kind
HOLD_S = 20


def test_ordinary_clients_keep_their_answers_while_slow_clients_hold_on(tmp_path, capsys):
    require_tools([serve_script().find_nginx() or "nginx"], "Debian package nginx")
    env = production_env(DATABASE_URL=f"sqlite:///{tmp_path / 'folio.db'}")
    server = Serve(env, tmp_path / "serve.log").start()
    try:
        seen, slow = run(server.port, sockets=SLOW_SOCKETS, seconds=HOLD_S, timeout_s=5)
    finally:
        assert server.stop() == 0
    with capsys.disabled():  # shown in every run, not only with -s
        print(f" [{seen.summary()}; {slow.reopened} slow sockets dropped by nginx]", end="")
    assert slow.open_failures == 0
    assert seen.requests > 0
    assert seen.failures == []
