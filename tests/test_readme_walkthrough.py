"""The documents' walkthroughs, run top to bottom against a dev server started as `make run` does.

Which blocks run: every ```sh fenced block that directly follows a line
`<!-- walkthrough -->` in a walked document (README.md, docs/authentication.md,
docs/api-guide.md), in the order they appear, in ONE bash process per document
(`set -euo pipefail`), so variables such as `$ACCESS` carry from block to block
as they do for a reader pasting them into one shell. Each document starts from
its own fresh server, so none depends on another having run first. Blocks
without the marker (make, gunicorn, celery, mail files) are left alone. Their
curls use `--fail-with-body`, so an HTTP error fails the run and shows its answer.

The server is the Makefile's `run` recipe (`flask dev`: upgrade, seed the
demo data, serve), read from the Makefile and run on a fresh SQLite database in
tmp_path with the development configuration, on a free port;
`localhost:5000` in the blocks is replaced by that port. The server has its
own database, so the test runs in the SQLite pass only.
"""

import os
import re
import subprocess
from contextlib import contextmanager

import pytest

from config import BASE_DIR
from tests.servers import (
    flask,
    free_port,
    require_tools,
    server_environment,
    wait_until_serving,
)

MARKER = "<!-- walkthrough -->"
WALKTHROUGH_BLOCK = re.compile(re.escape(MARKER) + r"\n```sh\n(.*?)^```$", re.S | re.M)
README_ADDRESS = "localhost:5000"


def make_run_command(port):
    """The Makefile's `run` recipe, one `flask` command, with its HOST and PORT filled in."""
    makefile = (BASE_DIR / "Makefile").read_text()
    recipe = re.search(r"^run:.*?\n((?:\t.*\n)+)", makefile, re.M).group(1)
    [line] = recipe.splitlines()  # one command, so one app import
    arguments = re.fullmatch(r"\t\$\(BIN\)/flask (.*)", line).group(1)
    arguments = arguments.replace("$(HOST)", "127.0.0.1").replace("$(PORT)", str(port))
    return flask(*arguments.split())


pytestmark = [
    pytest.mark.processes,
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(os.environ.get("TEST_DATABASE_URL")), reason="runs in the SQLite pass only"
    ),
]


# Each walked document, and what its walkthrough must at least exercise.
WALKED_DOCUMENTS = {
    "README.md": ["/auth/register", "/auth/login", "POST localhost:5000/api/v1/posts", "posts?"],
    "docs/authentication.md": ["/auth/register", "/auth/refresh", "/auth/logout", "/auth/me"],
    "docs/api-guide.md": ["cursor=", "page=", "If-None-Match", "Idempotency-Key", "/api/articles"],
}


def walkthrough_blocks(document):
    return WALKTHROUGH_BLOCK.findall((BASE_DIR / document).read_text())


@contextmanager
def make_run(tmp_path):
    """Serve Folio as `make run` does until the block ends; yields its host:port."""
    # Its mail (registration's verification) goes to tmp_path, not the checkout's instance/.
    env = server_environment(tmp_path / "folio.db", MAIL_FILE_DIR=str(tmp_path / "mail"))
    port = free_port()
    with open(tmp_path / "server.log", "wb") as log:
        server = subprocess.Popen(
            make_run_command(port), cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_until_serving(f"http://127.0.0.1:{port}", server, timeout=60)
            yield f"127.0.0.1:{port}"
        finally:
            server.terminate()
            server.wait(timeout=10)


@pytest.mark.parametrize("document", WALKED_DOCUMENTS)
def test_the_walkthrough_covers_what_the_document_explains(document):
    script = "\n".join(walkthrough_blocks(document))
    missing = [call for call in WALKED_DOCUMENTS[document] if call not in script]
    assert missing == [], f"{document}'s walkthrough no longer runs these"
    # Each curl fails the run on an HTTP error, or writes its status for the script to check.
    curls = re.findall(r"curl [^\n]*", script)
    unchecked = [c for c in curls if "--fail-with-body" not in c and "%{http_code}" not in c]
    assert unchecked == [], "an HTTP error must fail the run"


@pytest.mark.parametrize("document", WALKED_DOCUMENTS)
def test_the_walkthrough_runs_top_to_bottom(document, tmp_path):
    require_tools(["bash", "curl", "python3"], "the documents' commands use them")
    script = "set -euo pipefail\n" + "\n".join(walkthrough_blocks(document))
    with make_run(tmp_path) as address:
        result = subprocess.run(
            ["bash", "-x", "-c", script.replace(README_ADDRESS, address)],
            cwd=tmp_path,  # files the walkthrough writes (tokens.json) stay here
            capture_output=True,
            text=True,
            timeout=120,
        )
    # bash -x traces each command on stderr, so its tail names the one that failed;
    # --fail-with-body leaves that answer's problem details at the end of stdout.
    assert result.returncode == 0, (
        f"{document}'s walkthrough failed (exit {result.returncode}); "
        f"server log: {tmp_path}/server.log\n"
        "--- trace (last 20 lines) ---\n"
        + "\n".join(result.stderr.splitlines()[-20:])
        + "\n--- output (last 20 lines) ---\n"
        + "\n".join(result.stdout.splitlines()[-20:])
    )
