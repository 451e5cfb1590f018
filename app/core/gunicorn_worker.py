"""gunicorn's own error answers, sent as problem details instead of HTML.

gunicorn answers a request it cannot parse (a garbled request line, a URL over
`limit_request_line`: 414, too many or too large header fields: 431, an
unknown HTTP version) before Folio sees it, and its `handle_error` writes that
answer as an HTML page. This sync worker lets gunicorn decide the status and
log the refusal as it always does, catches the page it was about to send, and
sends the same status as RFC 9457 problem details, the shape of every other
Folio error. gunicorn.conf.py selects it with `worker_class`.

It needs nothing from the app (gunicorn loads it in the master, before the
app is preloaded), only gunicorn's own hook and werkzeug's status titles.
"""

import json

from gunicorn import util
from gunicorn.workers.sync import SyncWorker
from werkzeug.http import HTTP_STATUS_CODES

PROBLEM_MIMETYPE = "application/problem+json"
# Fixed sentences: gunicorn's own messages quote the client's bytes back.
DETAILS = {
    400: "The request could not be parsed as HTTP/1.1.",
    403: "The request was refused.",
    414: "The request line is longer than the server accepts.",
    417: "The server cannot meet the request's Expect header.",
    431: "The request's header fields are too many or too large.",
    500: "The server failed to answer the request.",
    501: "The request's transfer coding is not supported.",
}


class CapturedAnswer:
    """Stands in for the client socket while gunicorn writes its HTML page."""

    def __init__(self, client):
        self._client = client
        self.written = bytearray()

    def sendall(self, data):
        self.written += data

    def gettimeout(self):
        return 0.0  # gunicorn then writes without toggling blocking mode

    def __getattr__(self, name):
        return getattr(self._client, name)

    def status(self):
        """The status code of the captured `HTTP/1.1 <code> <reason>` line, if any."""
        status_line = bytes(self.written).split(b"\r\n", 1)[0].split()
        return int(status_line[1]) if len(status_line) > 1 else None


def problem_answer(status):
    body = json.dumps(
        {
            "type": "about:blank",
            "title": HTTP_STATUS_CODES.get(status, "Error"),
            "status": status,
            "detail": DETAILS.get(status, HTTP_STATUS_CODES.get(status, "")),
            "request_id": None,  # refused before Folio could give it one
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status} {HTTP_STATUS_CODES.get(status, 'Error')}\r\n"
        "Connection: close\r\n"
        f"Content-Type: {PROBLEM_MIMETYPE}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + body


class ProblemDetailsSyncWorker(SyncWorker):
    """gunicorn's sync worker, with its error pages as problem details."""

    def handle_error(self, req, client, addr, exc):
        captured = CapturedAnswer(client)
        super().handle_error(req, captured, addr, exc)
        status = captured.status()
        if status is None:
            return
        try:
            util.write_nonblock(client, problem_answer(status))
        except Exception:
            self.log.debug("Failed to send error message.")
