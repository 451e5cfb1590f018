"""Folio in its production shape, in the foreground: nginx in front of gunicorn.

`make serve` runs this with the project's virtualenv. It reads the production
environment (APP_ENV defaults to production; DATABASE_URL, SECRET_KEY,
JWT_SECRET_KEY and the rest as the README's configuration table says), then:

1. runs `flask db upgrade`, the Procfile's release step;
2. starts SERVE_INSTANCES (1) gunicorn instances (gunicorn.conf.py), each on
   its own unix socket in a temporary directory, so they are reachable only
   through nginx; PROXY_FIX_X_FOR and PROXY_FIX_X_PROTO are 1, the one hop
   nginx makes;
3. starts nginx on 127.0.0.1:PORT (8080), balancing the instances, with
   deploy/*.template rendered into the same directory, which also holds its
   pid file and temporary files.

SIGTERM, Ctrl-C or a closed terminal stops them all gracefully (requests in
flight finish) and removes the directory. When nginx or the last instance
exits by itself, the rest are stopped too (an instance that dies while others
serve is reported, and nginx sends its requests to the others); if this
script is killed outright (SIGKILL) Linux stops them all. It installs
nothing: without nginx it says how to install it, in one line.

deploy/cluster.py starts the same shape (these functions) with a PostgreSQL
replica beside it.
"""

import contextlib
import ctypes
import dataclasses
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
# nginx's passive health check of each instance: after one failed request it is
# left out for 10 s, then tried again (nginx's own defaults, written out).
UPSTREAM_HEALTH = "max_fails=1 fail_timeout=10s"
# Graceful: nginx finishes the requests it relays, gunicorn the ones it holds.
NGINX_STOP, GUNICORN_STOP = signal.SIGQUIT, signal.SIGTERM
# Above gunicorn's graceful_timeout (20 s), so a graceful stop is never cut short.
STOP_TIMEOUT_S = 30
# Signals that stop the pair: a supervisor's SIGTERM, Ctrl-C, a closed terminal.
STOP_ON = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
PR_SET_PDEATHSIG = 1  # linux/prctl.h
# nginx.conf.template's worker_connections (4096) per worker, with room to spare.
OPEN_FILES_WANTED = 16384


class Stop(Exception):
    """One of STOP_ON arrived."""


@dataclasses.dataclass
class Server:
    """A process this script started, and how to stop it gracefully."""

    name: str
    process: subprocess.Popen
    stop_signal: int
    # One of several interchangeable app instances: its death alone stops nothing.
    instance: bool = False


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
    # nginx gzips JSON for clients that ask (folio.conf.template): once is enough.
    env["APP_COMPRESS"] = "false"
    return env


def whole_number(environ, name, default):
    value = environ.get(name) or default
    if not value.isdigit():
        raise SystemExit(f"serve: {name} must be a whole number, got {value!r}")
    return value


def instance_count(environ, default=1):
    """SERVE_INSTANCES: how many gunicorn instances nginx balances."""
    count = int(whole_number(environ, "SERVE_INSTANCES", str(default)))
    if count < 1:
        raise SystemExit("serve: SERVE_INSTANCES must be at least 1")
    return count


def instance_sockets(directory, count):
    return [directory / f"gunicorn-{number}.sock" for number in range(1, count + 1)]


def upstream_servers(addresses):
    """The `server` lines of nginx's upstream block, one per gunicorn instance."""
    return "\n    ".join(f"server {address} {UPSTREAM_HEALTH};" for address in addresses)


def nginx_settings(environ, upstreams):
    """The values of the templates' ${NAME} variables, nginx balancing `upstreams`
    (addresses such as unix:/path.sock); SystemExit when one is not a number."""
    settings = {
        name: whole_number(environ, name, default) for name, default in NGINX_DEFAULTS.items()
    }
    return {
        **settings,
        "MAX_CONTENT_LENGTH": str(folio_body_limit(environ)),
        "NGINX_LISTEN": f"127.0.0.1:{settings['PORT']}",
        "FOLIO_UPSTREAM_SERVERS": upstream_servers(upstreams),
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


def start(command, env=None, **options):
    # A process group of its own: Ctrl-C reaches this script only, which then
    # stops the servers in order instead of letting the terminal kill them.
    return subprocess.Popen(
        command,
        cwd=BASE_DIR,
        env=env,
        process_group=0,
        preexec_fn=stop_when_this_script_dies,
        **options,
    )


def wait_for_socket(path, process):
    """True once gunicorn has bound its socket; False when it exited instead."""
    while not path.exists():
        if process.poll() is not None:
            return False
        time.sleep(0.1)
    return True


def start_instances(env, sockets, servers, output=None):
    """Start one gunicorn per socket into `servers`; False when one exited before
    binding. `output(name)`: the file an instance writes to (default: ours)."""
    started = []
    for number, socket_path in enumerate(sockets, 1):
        name = f"gunicorn-{number}"
        stdout = output(name) if output else None
        process = start(gunicorn_command(socket_path), env, stdout=stdout, stderr=stdout)
        started.append((socket_path, process))
        servers.append(Server(name, process, GUNICORN_STOP, instance=True))
    return all(wait_for_socket(socket_path, process) for socket_path, process in started)


def watch(servers):
    """Wait until a server exits, or the last instance; its exit status.

    An instance that dies while another still serves is only reported: nginx
    sends its requests to the others."""
    reported = set()
    while True:
        for server in servers:
            if server.process.poll() is None or server.name in reported:
                continue
            others = [s for s in servers if s.instance and s.process.poll() is None]
            if server.instance and others:
                reported.add(server.name)
                print(
                    f"serve: {server.name} exited ({server.process.returncode}); "
                    f"{len(others)} instance(s) still serve",
                    file=sys.stderr,
                    flush=True,
                )
                continue
            print(
                f"serve: {server.name} exited ({server.process.returncode}); stopping",
                file=sys.stderr,
            )
            return server.process.returncode or 1
        time.sleep(0.2)


def ignore_stop_signals():
    for signum in STOP_ON:  # a second Ctrl-C must not cut the cleanup short
        signal.signal(signum, signal.SIG_IGN)


def stop(servers):
    """Stop `servers` gracefully, all at once, killing any still running after STOP_TIMEOUT_S."""
    ignore_stop_signals()
    for server in servers:
        if server.process.poll() is None:
            server.process.send_signal(server.stop_signal)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for server in servers:
        try:
            server.process.wait(max(0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def migrate(env):
    """`flask db upgrade`, the Procfile's release step; its exit status."""
    upgrade = [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"]
    return subprocess.run(upgrade, cwd=BASE_DIR, env=env).returncode


def checked_nginx(nginx, directory, settings):
    """nginx's command line, its rendered config checked before anything starts."""
    command = nginx_command(nginx, directory, write_nginx_config(directory, settings))
    subprocess.run([*command, "-t", "-q"], check=True)
    return command


def start_balanced(env, directory, nginx_run, count, servers, output=None):
    """`count` gunicorn instances, then nginx in front of them, into `servers`;
    False when an instance exited before it could serve."""
    if not start_instances(env, instance_sockets(directory, count), servers, output):
        return False
    stdout = output("nginx") if output else None
    servers.append(Server("nginx", start(nginx_run, stdout=stdout, stderr=stdout), NGINX_STOP))
    return True


def serve(nginx, directory):
    env = app_environment(os.environ)
    count = instance_count(env)
    sockets = instance_sockets(directory, count)
    settings = nginx_settings(env, [f"unix:{path}" for path in sockets])
    nginx_run = checked_nginx(nginx, directory, settings)
    if status := migrate(env):
        return status

    servers = []
    try:
        if start_balanced(env, directory, nginx_run, count, servers):
            shape = "gunicorn" if count == 1 else f"{count} gunicorn instances"
            print(
                f"serve: Folio at http://{settings['NGINX_LISTEN']} (nginx in front of {shape}); "
                "Ctrl-C stops them",
                file=sys.stderr,
                flush=True,
            )
        return watch(servers)
    finally:
        stop(servers)


def run_in_foreground(prefix, body):
    """`body(nginx, directory)` with the stop signals taken and a temporary
    directory made (and removed afterwards); its exit status."""
    nginx = find_nginx()
    if nginx is None:
        print(f"serve: nginx is not installed; install it with: {NGINX_INSTALL}", file=sys.stderr)
        return 1
    for signum in STOP_ON:
        signal.signal(signum, raise_stop)
    raise_open_file_limit()
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        return body(nginx, directory)
    except Stop:
        return 0
    except subprocess.CalledProcessError as error:
        return error.returncode
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main():
    return run_in_foreground("folio-serve-", serve)


if __name__ == "__main__":
    sys.exit(main())
