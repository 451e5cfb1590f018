"""A real SMTP server on a loopback port (aiosmtpd), capturing what it accepts.

`CapturingSMTP.stop()` and `start()` take it down and bring it back on the same
port, for the tests of delivery while the mail server is away.
"""

import email
import re
import threading
from collections import Counter
from email import policy

from aiosmtpd.controller import Controller

from tests.servers import free_port

LINK_TOKEN = re.compile(r"[?&]token=([A-Za-z0-9_-]+)")


class Capture:
    def __init__(self, delay_s=0):
        self.messages = []
        self.lock = threading.Lock()
        self.delay_s = delay_s

    async def handle_DATA(self, server, session, envelope):
        if self.delay_s:
            import asyncio

            await asyncio.sleep(self.delay_s)
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"


class CapturingSMTP:
    def __init__(self, delay_s=0):
        self.port = free_port()
        self.capture = Capture(delay_s)
        self.controller = None

    def start(self):
        self.controller = Controller(self.capture, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self):
        with self.capture.lock:
            return list(self.capture.messages)

    def clear(self):
        with self.capture.lock:
            self.capture.messages.clear()

    def to(self, address):
        return [m for m in self.messages if m["To"] == address]

    def message_ids(self):
        return Counter(m["Message-ID"] for m in self.messages)

    def settings(self):
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": self.port}


def token_in(message):
    """The token of the link in a mail's plain-text body (the HTML one carries the same)."""
    text = message.get_body("plain").get_content()
    html = message.get_body("html").get_content()
    token = LINK_TOKEN.search(text).group(1)
    assert f"token={token}" in html
    return token
