"""A stand-in for a browser's push service (FCM, Mozilla autopush...): a real HTTP server on a free
loopback port, plus a browser-side subscription with its own keys that can decrypt what arrives.

Each request is recorded. The answer is what the test scripted (default 201 Created). With a delay
the service answers slowly; with ``hold_after(n)`` it answers the first n requests and holds every
later one until ``release()``. A sender that disconnects while waiting never got an answer, so that
request counts as not accepted (``accepted`` lists only requests answered 201 on a live connection).
"""

from __future__ import annotations

import json
import os
import select
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from web.notifications.vapid import b64url


@dataclass
class PushRequest:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None  # what was answered; None: the sender left before the answer
    decrypted: dict | None = field(default=None)
    received_at: float = field(default_factory=time.monotonic)


@dataclass
class BrowserKeys:
    """What a browser makes when it subscribes: a P-256 key pair and a 16-byte auth secret."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    @property
    def p256dh(self) -> str:
        raw = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(raw)

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)

    def as_json(self) -> dict:
        """``PushSubscription.toJSON()`` as the browser posts it."""
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": self.auth},
        }

    def decrypt(self, body: bytes) -> dict:
        plain = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth_secret, version="aes128gcm"
        )
        return json.loads(plain)


class FakePushService:
    def __init__(self) -> None:
        self.requests: list[PushRequest] = []
        self._answers: deque[tuple[int, dict[str, str]]] = deque()
        self.delay = 0.0
        self._hold_from: int | None = None
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.keys: dict[str, BrowserKeys] = {}

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @staticmethod
    def keys_for(endpoint: str) -> BrowserKeys:
        return BrowserKeys(
            endpoint=endpoint,
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth_secret=os.urandom(16),
        )

    def subscription(self, name: str = "") -> BrowserKeys:
        """A new browser subscription whose endpoint is this service."""
        path = f"/push/{name or 'sub'}-{os.urandom(6).hex()}"
        keys = self.keys_for(self.url + path)
        self.keys[path] = keys
        return keys

    def answer(self, *answers: int | tuple[int, dict[str, str]]) -> None:
        """Script the next answers, in order; after them, 201 again."""
        with self._lock:
            for item in answers:
                self._answers.append(item if isinstance(item, tuple) else (item, {}))

    def hold_after(self, count: int) -> None:
        """Answer the first ``count`` requests, then keep the later ones waiting until released:
        a test can act while requests are in flight without racing a timer."""
        with self._lock:
            self._hold_from = count
            self._released.clear()

    def release(self) -> None:
        with self._lock:
            self._hold_from = None
            self._released.set()

    @property
    def accepted(self) -> list[PushRequest]:
        with self._lock:
            return [r for r in self.requests if r.status == 201]

    @property
    def waiting(self) -> list[PushRequest]:
        """Requests received and not answered yet (delayed or held)."""
        with self._lock:
            return [r for r in self.requests if r.status is None]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[PushRequest]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.02)
        raise AssertionError(f"{len(self.requests)} push requests arrived, expected {count}")

    def start(self) -> FakePushService:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                request = PushRequest(path=self.path, headers=dict(self.headers.items()), body=body)
                keys = fake.keys.get(self.path)
                if keys is not None and body:
                    request.decrypted = keys.decrypt(body)
                with fake._lock:
                    held = fake._hold_from is not None and len(fake.requests) >= fake._hold_from
                    fake.requests.append(request)
                    status, headers = fake._answers.popleft() if fake._answers else (201, {})
                if held and not _wait_while_connected(self.connection, released=fake._released):
                    return  # the sender is gone: it never learns the answer
                if fake.delay and not _wait_while_connected(self.connection, fake.delay):
                    return
                # A sender killed while this request sat unread in the socket (a loaded machine:
                # the handler thread ran after the kill, and after a release) is gone too.
                if not _wait_while_connected(self.connection):
                    return
                request.status = status
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 made a loaded machine reset connections when two workers
    # sent 14 notifications at once: a real push service does not refuse connections like that.
    request_queue_size = 128


def _wait_while_connected(
    connection: socket.socket, seconds: float = 0.0, released: threading.Event | None = None
) -> bool:
    """Sleep ``seconds``, or until ``released`` is set; False as soon as the peer has closed the
    connection (checked once more at the end, so a sender killed just before the release is seen)."""
    deadline = time.monotonic() + seconds
    while True:
        done = released.is_set() if released is not None else time.monotonic() >= deadline
        left = 0.0 if done else 0.05 if released is not None else deadline - time.monotonic()
        readable, _, _ = select.select([connection], [], [], max(left, 0.0))
        if readable:
            try:
                if connection.recv(1, socket.MSG_PEEK) == b"":
                    return False
            except OSError:
                return False
            if not done:
                time.sleep(min(0.01, left))
        if done:
            return True


@pytest.fixture
def push_service():
    service = FakePushService().start()
    yield service
    service.stop()
