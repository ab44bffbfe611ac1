"""A stand-in for the WhatsApp Cloud API: a real HTTP server on a free loopback port.

It records every request and answers with whatever the test chose (by default what Meta answers
to an accepted message), so the messenger is tested over real HTTP, without mocks.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

API_VERSION = "v21.0"


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any = field(default=None)


class FakeWhatsApp:
    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._status = 200
        self._answer: Any = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": "", "wa_id": ""}],
            "messages": [{"id": "wamid.TEST"}],
        }
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        # A short poll interval makes shutdown() return quickly at the end of each test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL to give the messenger, like ``https://graph.facebook.com/v21.0``."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/{API_VERSION}"

    def respond_with(self, status: int, body: Any) -> None:
        with self._lock:
            self._status, self._answer = status, body

    def start(self) -> FakeWhatsApp:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeWhatsApp:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                try:
                    parsed = json.loads(body) if body else None
                except ValueError:
                    parsed = None
                with fake._lock:
                    fake.requests.append(
                        RecordedRequest("POST", self.path, dict(self.headers.items()), body, parsed)
                    )
                    status, answer = fake._status, fake._answer
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        return Handler


@pytest.fixture
def fake_whatsapp():
    with FakeWhatsApp() as fake:
        yield fake
