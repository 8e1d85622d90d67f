"""A real receiver for the webhook tests: an HTTP server in a thread on 127.0.0.1 that records every
request and answers as each test scripts it."""

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from webhooks.services import create_endpoint


@pytest.fixture(autouse=True)
def _local_receivers(settings):
    """The receivers listen on 127.0.0.1, which the portal refuses unless told otherwise (as local runs are)."""
    settings.PDP_WEBHOOK_ALLOW_PRIVATE = True


@dataclass
class Received:
    headers: dict
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


@dataclass
class Receiver:
    """What the server answers (`statuses` in turn, the last repeated) and after how long; what it received."""

    url: str = ""
    statuses: list = field(default_factory=lambda: [200])
    delay: float = 0.0
    received: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_status(self):
        with self.lock:
            return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]

    def delivery_ids(self):
        return [r.headers["X-PDP-Delivery"] for r in self.received]


def _handler(receiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with receiver.lock:
                receiver.received.append(Received(self.headers, body))  # case-insensitive, as HTTP headers are
            if receiver.delay:
                time.sleep(receiver.delay)
            status = receiver.next_status()
            reply = b"ok" if status < 300 else b"receiver says no"
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
            except OSError:
                pass  # the sender gave up waiting

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def receiver():
    state = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def down_url():
    """The URL of a receiver that is down: a port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


def add_endpoint(actor, url, *, name="SIEM", events=""):
    """An endpoint and its secret, made the way an administrator does."""
    return create_endpoint(actor=actor, name=name, url=url, events=events)
