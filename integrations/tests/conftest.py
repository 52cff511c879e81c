"""A real HTTP receiver on 127.0.0.1 (no network), and webhook settings for tests."""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rest_framework.test import APIClient

from agents.services import api_key_create


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    at: float

    def json(self):
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers each path with its scripted statuses (the last one repeats) after its
    delay, and records every request."""

    server: ThreadingHTTPServer
    statuses: dict = field(default_factory=dict)
    delays: dict = field(default_factory=dict)
    requests: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def script(self, path: str, *statuses: int, delay: float = 0.0) -> str:
        self.statuses[path] = list(statuses)
        self.delays[path] = delay
        return self.url(path)

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def wait_for(self, path: str, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.at(path)
            if len(got) >= count:
                return got
            time.sleep(0.01)
        raise AssertionError(f"{path}: {len(self.at(path))} of {count} requests arrived")


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            delay = receiver.delays.get(self.path, 0.0)
            if delay:
                time.sleep(delay)
            with receiver.lock:
                script = receiver.statuses.get(self.path, [200])
                status = script.pop(0) if len(script) > 1 else script[0]
                receiver.requests.append(
                    Received(self.path, dict(self.headers.items()), body, time.monotonic())
                )
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            message = b"ok" if status < 300 else b"receiver says no"
            self.send_header("Content-Length", str(len(message)))
            self.end_headers()
            try:
                self.wfile.write(message)
            except OSError:  # the sender gave up waiting (a timeout test)
                pass

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), None)
    server.daemon_threads = True
    hub = Receiver(server=server)
    server.RequestHandlerClass = _handler(hub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield hub
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True  # the receiver is on loopback
    settings.WEBHOOK_TIMEOUT_SECONDS = 2.0
    settings.WEBHOOK_BACKOFF_SECONDS = 30.0
    settings.WEBHOOK_MAX_ATTEMPTS = 10
    settings.WEBHOOK_DISABLE_AFTER_SECONDS = 86400.0


@pytest.fixture
def manager_client(organization):
    _, raw = api_key_create(organization=organization, name="mgr", role="manager", actor=None)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    return client


@pytest.fixture
def agent_client(organization):
    _, raw = api_key_create(organization=organization, name="agt", role="agent", actor=None)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    return client
