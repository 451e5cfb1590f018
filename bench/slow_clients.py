"""Slow clients against a running Folio: do the other clients still get answers?

    python bench/slow_clients.py --port 8080              # `make serve`
    python bench/slow_clients.py --port 8000 --seconds 20 # gunicorn alone

For `--seconds`, it holds `--sockets` connections that send their headers one
line every `--interval` seconds, and as many that send whole headers (a POST
with a Content-Length) and then their body one byte every interval. A
connection the server drops is opened again, as an attacker would. Meanwhile
one ordinary client asks `--path` in a loop, each request with a `--timeout`,
and the script prints how many of its requests failed and their p50/p99.
Only 127.0.0.1 is ever targeted. Standard library only.
"""

import argparse
import http.client
import socket
import threading
import time
from dataclasses import dataclass, field

BODY_LENGTH = 65536  # under MAX_CONTENT_LENGTH, so nginx waits for it rather than answer 413


@dataclass
class Probe:
    """What the ordinary client saw."""

    latencies_ms: list = field(default_factory=list)
    failures: list = field(default_factory=list)

    @property
    def requests(self):
        return len(self.latencies_ms) + len(self.failures)

    def percentile(self, fraction):
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def summary(self):
        p50, p99 = self.percentile(0.5), self.percentile(0.99)
        shown = (f"{p50:.1f} ms", f"{p99:.1f} ms") if p50 is not None else ("-", "-")
        return (
            f"{self.requests} requests, {len(self.failures)} failed; "
            f"p50 {shown[0]}, p99 {shown[1]}"
            + (f"; first failure: {self.failures[0]}" if self.failures else "")
        )


class SlowClient:
    """One connection that sends its request a piece at a time."""

    def __init__(self, port, kind, number):
        self.port, self.kind, self.number = port, kind, number
        self.sock = None
        self.sent = 0

    def open(self):
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self.sock.setblocking(False)
        self.sent = 0
        if self.kind == "body":
            self.send(
                b"POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n{" % BODY_LENGTH
            )
        else:
            self.send(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")

    def send(self, data):
        self.sock.send(data)
        self.sent += 1

    def trickle(self):
        """Send the next piece; False once the server answered or closed the connection."""
        try:
            self.sock.recv(1, socket.MSG_PEEK)
            return False  # an answer (408, 400) or the end: the server let go
        except BlockingIOError:
            pass  # nothing to read: the server is still waiting for the request
        except OSError:
            return False
        try:
            self.send(
                b" " if self.kind == "body" else b"X-Slow-%d: %d\r\n" % (self.sent, self.number)
            )
        except OSError:
            return False
        return True

    def close(self):
        if self.sock is not None:
            self.sock.close()


class SlowClients:
    """`count` header tricklers and `count` body tricklers, until stopped."""

    def __init__(self, port, count, interval_s):
        self.interval_s = interval_s
        self.clients = [
            SlowClient(port, kind, n) for kind in ("header", "body") for n in range(count)
        ]
        self.reopened = 0
        self.open_failures = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self):
        for client in self.clients:
            self.open(client)
        self.thread.start()
        return self

    def open(self, client):
        try:
            client.open()
        except OSError:
            self.open_failures += 1

    def run(self):
        while not self.stopped.wait(self.interval_s):
            for client in self.clients:
                if client.sock is None or not client.trickle():
                    client.close()
                    self.reopened += 1
                    self.open(client)

    def stop(self):
        self.stopped.set()
        self.thread.join()
        for client in self.clients:
            client.close()


def probe(port, path, seconds, timeout_s):
    """Ask `path` in a loop for `seconds`; what the ordinary client saw."""
    seen = Probe()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status >= 500:
                raise OSError(f"status {response.status}")
            seen.latencies_ms.append((time.perf_counter() - started) * 1000)
        except OSError as error:
            seen.failures.append(f"{type(error).__name__}: {error}")
        finally:
            connection.close()
        time.sleep(0.02)
    return seen


def run(port, sockets=200, seconds=20.0, interval_s=2.0, path="/health", timeout_s=5.0):
    """Hold the slow clients while probing; (Probe, SlowClients) once both are done."""
    slow = SlowClients(port, sockets, interval_s).start()
    try:
        seen = probe(port, path, seconds, timeout_s)
    finally:
        slow.stop()
    return seen, slow


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sockets", type=int, default=200, help="of each kind (default 200)")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between pieces")
    parser.add_argument("--path", default="/health")
    parser.add_argument("--timeout", type=float, default=5.0, help="per ordinary request")
    args = parser.parse_args()
    seen, slow = run(args.port, args.sockets, args.seconds, args.interval, args.path, args.timeout)
    print(
        f"{args.sockets} header + {args.sockets} body tricklers for {args.seconds:g} s "
        f"({slow.reopened} reopened after the server dropped them, "
        f"{slow.open_failures} could not connect): {seen.summary()}"
    )


if __name__ == "__main__":
    main()
