"""Folio in its production shape, in the foreground: nginx in front of gunicorn.

`make serve` runs this with the project's virtualenv. It reads the production
environment (APP_ENV defaults to production; DATABASE_URL, SECRET_KEY,
JWT_SECRET_KEY and the rest as the README's configuration table says), then:

1. runs `flask db upgrade`, the Procfile's release step;
2. starts gunicorn (gunicorn.conf.py) on a unix socket in a temporary
   directory, so it is reachable only through nginx; PROXY_FIX_X_FOR and
   PROXY_FIX_X_PROTO are 1, the one hop nginx makes;
3. starts nginx on 127.0.0.1:PORT (8080) with deploy/*.template rendered into
   the same directory, which also holds its pid file and temporary files.

SIGTERM, Ctrl-C or a closed terminal stops both gracefully (requests in flight
finish) and removes the directory; when either exits by itself, the other is
stopped too, and if this script is killed outright (SIGKILL) Linux stops
both. It installs nothing: without nginx it says how to install it, in one line.
"""

import contextlib
import ctypes
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEPLOY_DIR = Path(__file__).resolve().parent
BASE_DIR = DEPLOY_DIR.parent
TEMPLATE_VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
# Debian installs nginx in sbin, which a non-root PATH often leaves out.
SBIN_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")
NGINX_INSTALL = "sudo apt-get install nginx"
# Settings of the nginx templates that come from the environment, and their defaults.
NGINX_DEFAULTS = {
    "PORT": "8080",
    "NGINX_CLIENT_TIMEOUT_S": "10",
    "NGINX_PROXY_READ_TIMEOUT_S": "35",
}
# Both graceful: nginx finishes the requests it relays, gunicorn the ones it holds.
STOP_SIGNALS = {"nginx": signal.SIGQUIT, "gunicorn": signal.SIGTERM}
# Above gunicorn's graceful_timeout (20 s), so a graceful stop is never cut short.
STOP_TIMEOUT_S = 30
# Signals that stop the pair: a supervisor's SIGTERM, Ctrl-C, a closed terminal.
STOP_ON = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
PR_SET_PDEATHSIG = 1  # linux/prctl.h
# nginx.conf.template's worker_connections (4096) per worker, with room to spare.
OPEN_FILES_WANTED = 16384


class Stop(Exception):
    """One of STOP_ON arrived."""


def raise_stop(signum, _frame):
    raise Stop(signum)


def find_nginx():
    return shutil.which("nginx") or shutil.which("nginx", path=os.pathsep.join(SBIN_DIRS))


def raise_open_file_limit():
    """Each slow client is an open file in nginx: allow as many as the hard limit
    lets. The servers inherit it (a login shell's soft limit is often 1024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = OPEN_FILES_WANTED if hard == resource.RLIM_INFINITY else min(hard, OPEN_FILES_WANTED)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def app_environment(environ):
    """The environment gunicorn and `flask db upgrade` run with."""
    env = dict(environ)
    env["APP_ENV"] = environ.get("APP_ENV") or "production"
    env["TRUSTED_HOSTS"] = environ.get("TRUSTED_HOSTS") or "127.0.0.1,localhost"
    # gunicorn is reachable only through nginx, which sets these two headers itself.
    env["PROXY_FIX_X_FOR"] = "1"
    env["PROXY_FIX_X_PROTO"] = "1"
    return env


def nginx_settings(environ, gunicorn_socket):
    """The values of the templates' ${NAME} variables; SystemExit when one is not a number."""
    settings = {name: environ.get(name) or default for name, default in NGINX_DEFAULTS.items()}
    for name, value in settings.items():
        if not value.isdigit():
            raise SystemExit(f"serve: {name} must be a whole number, got {value!r}")
    return {
        **settings,
        "MAX_CONTENT_LENGTH": str(folio_body_limit(environ)),
        "NGINX_LISTEN": f"127.0.0.1:{settings['PORT']}",
        "FOLIO_UPSTREAM": f"unix:{gunicorn_socket}",
    }


def folio_body_limit(environ):
    """MAX_CONTENT_LENGTH as config.py reads it (one default, in one place), so
    nginx refuses exactly the bodies Folio would."""
    if str(BASE_DIR) not in sys.path:
        sys.path.insert(0, str(BASE_DIR))
    from config import Config, ConfigError

    try:
        return Config(environ).MAX_CONTENT_LENGTH
    except ConfigError as error:
        raise SystemExit(f"serve: {error}") from None


def render(template, values):
    """The template with each ${NAME} replaced; nginx's own $name variables stay."""

    def value(match):
        if match.group(1) not in values:
            raise SystemExit(f"serve: {template.name} needs {match.group(1)}")
        return values[match.group(1)]

    return TEMPLATE_VARIABLE.sub(value, template.read_text())


def write_nginx_config(directory, settings):
    """Render the site and the main config into `directory`; the main config's path."""
    (directory / "folio.conf").write_text(render(DEPLOY_DIR / "folio.conf.template", settings))
    config = directory / "nginx.conf"
    config.write_text(render(DEPLOY_DIR / "nginx.conf.template", settings))
    return config


def nginx_command(nginx, directory, config):
    command = [nginx, "-p", str(directory), "-c", str(config), "-e", "stderr"]
    if os.geteuid() == 0:
        # Started by root, nginx would run its workers as `nobody`, who cannot
        # reach gunicorn's socket in this private directory: keep the invoking user.
        command += ["-g", "user root;"]
    return command


def gunicorn_command(gunicorn_socket):
    return [
        *(sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"),
        *("--bind", f"unix:{gunicorn_socket}", "wsgi:app"),
    ]


def stop_when_this_script_dies():
    """Runs in the child: Linux sends it SIGTERM if this script dies without
    stopping it (SIGKILL, a crash), so no server outlives its supervisor."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the signals above only
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start(command, env=None):
    # A process group of its own: Ctrl-C reaches this script only, which then
    # stops both servers in order instead of letting the terminal kill them.
    return subprocess.Popen(
        command, cwd=BASE_DIR, env=env, process_group=0, preexec_fn=stop_when_this_script_dies
    )


def wait_for_socket(path, process):
    """True once gunicorn has bound its socket; False when it exited instead."""
    while not path.exists():
        if process.poll() is not None:
            return False
        time.sleep(0.1)
    return True


def watch(processes):
    """Wait until one of the servers exits; its exit status."""
    while True:
        for name, process in processes.items():
            if process.poll() is not None:
                print(f"serve: {name} exited ({process.returncode}); stopping", file=sys.stderr)
                return process.returncode or 1
        time.sleep(0.2)


def stop(processes):
    for signum in STOP_ON:  # a second Ctrl-C must not cut the cleanup short
        signal.signal(signum, signal.SIG_IGN)
    for name, process in processes.items():
        if process.poll() is None:
            process.send_signal(STOP_SIGNALS[name])
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for process in processes.values():
        try:
            process.wait(max(0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve(nginx, directory):
    env = app_environment(os.environ)
    gunicorn_socket = directory / "gunicorn.sock"
    settings = nginx_settings(env, gunicorn_socket)
    nginx_run = nginx_command(nginx, directory, write_nginx_config(directory, settings))
    # Check the rendered config before anything starts.
    subprocess.run([*nginx_run, "-t", "-q"], check=True)
    upgrade = [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"]
    if status := subprocess.run(upgrade, cwd=BASE_DIR, env=env).returncode:
        return status

    processes = {}
    try:
        processes["gunicorn"] = start(gunicorn_command(gunicorn_socket), env)
        if not wait_for_socket(gunicorn_socket, processes["gunicorn"]):
            return watch(processes)
        processes["nginx"] = start(nginx_run)
        print(
            f"serve: Folio at http://{settings['NGINX_LISTEN']} (nginx in front of gunicorn); "
            "Ctrl-C stops both",
            file=sys.stderr,
            flush=True,
        )
        return watch(processes)
    finally:
        stop(processes)


def main():
    nginx = find_nginx()
    if nginx is None:
        print(f"serve: nginx is not installed; install it with: {NGINX_INSTALL}", file=sys.stderr)
        return 1
    for signum in STOP_ON:
        signal.signal(signum, raise_stop)
    raise_open_file_limit()
    directory = Path(tempfile.mkdtemp(prefix="folio-serve-"))
    try:
        return serve(nginx, directory)
    except Stop:
        return 0
    except subprocess.CalledProcessError as error:
        return error.returncode
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
