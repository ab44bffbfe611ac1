"""The fault-injecting proxy itself, in front of a loopback server that echoes what it received."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from tests.fault_proxy import FaultProxy


class Echo(BaseHTTPRequestHandler):
    """Answers with what arrived: method, path, Host, Cookie and the body's length and digest."""

    protocol_version = "HTTP/1.1"
    received: ClassVar[list[str]] = []

    def log_message(self, format, *args) -> None:
        pass

    def do_GET(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        Echo.received.append(f"{self.command} {self.path}")
        if self.path == "/stream":  # chunked, as an endless or generated answer is
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"data: one\n\n", b"data: two\n\n"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        answer = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "host": self.headers["Host"],
                "cookie": self.headers.get("Cookie"),
                "length": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.send_header("Set-Cookie", "a=1; Path=/")
        self.send_header("Set-Cookie", "b=2; Path=/")
        self.send_header("Location", f"http://{self.headers['Host']}/laporan/CLG-1")
        self.end_headers()
        self.wfile.write(answer)

    do_POST = do_GET


@pytest.fixture
def proxy():
    Echo.received = []
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    with FaultProxy(f"http://127.0.0.1:{upstream.server_address[1]}") as running:
        yield running
    upstream.shutdown()
    upstream.server_close()


def connect(proxy: FaultProxy) -> http.client.HTTPConnection:
    host, port = proxy.url.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=10)


def test_forwards_faithfully_over_one_kept_alive_connection(proxy):
    connection = connect(proxy)
    body = os.urandom(5 * 1024 * 1024)  # a few camera photos
    connection.request("POST", "/lapor?x=1", body=body, headers={"Cookie": "session=abc"})
    response = connection.getresponse()
    echoed = json.loads(response.read())
    assert echoed == {
        "method": "POST",
        "path": "/lapor?x=1",
        "host": proxy.upstream_netloc,
        "cookie": "session=abc",
        "length": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    assert response.headers.get_all("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert response.headers["Location"] == proxy.url + "/laporan/CLG-1"

    connection.request("GET", "/stream")  # the same connection, still open
    assert connection.getresponse().read() == b"data: one\n\ndata: two\n\n"
    assert proxy.count("forwarded") == 1 and proxy.count("forwarded", "GET /stream") == 1


def test_each_fault_mode_does_what_it_says(proxy):
    def post(path="/lapor"):
        connection = connect(proxy)
        connection.request("POST", path, body=b"judul=Jalan+rusak")
        try:
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        except (http.client.RemoteDisconnected, ConnectionError):
            return None, None, b""

    proxy.set_fault("captive")
    status, headers, page = post()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"Login WiFi" in page and Echo.received == []
    assert post("/lain")[0] == 200 and Echo.received == ["POST /lain"]  # other paths pass

    proxy.set_fault("status", status=503, retry_after=2)
    status, headers, page = post()
    assert (status, headers["Retry-After"]) == (503, "2") and b"503" in page
    assert Echo.received == ["POST /lain"]

    proxy.set_fault("drop_before")
    assert post()[0] is None and Echo.received == ["POST /lain"]

    proxy.set_fault("drop_after")  # the server got it; the client hears nothing
    assert post()[0] is None and Echo.received == ["POST /lain", "POST /lapor"]

    proxy.set_fault("delay", seconds=1)
    started = time.monotonic()
    assert post()[0] == 200 and time.monotonic() - started >= 1

    proxy.set_fault("drop_before", every_request=True)  # lie-fi
    assert post("/lain")[0] is None

    proxy.set_fault("pass")
    assert post()[0] == 200
    for mode in ("captive", "status", "drop_before", "drop_after"):
        assert proxy.count(mode) == 1, proxy.report()
    assert proxy.count("forwarded") == 3  # drop_after, delay, pass


def test_mix_draws_modes_by_weight_and_seed(proxy):
    outcomes = []
    for seed in (7, 7):
        proxy.set_fault("mix", weights={"pass": 1, "status": 1}, seed=seed, status=(502, 503))
        statuses = []
        for _ in range(20):
            connection = connect(proxy)
            connection.request("POST", "/lapor", body=b"x")
            statuses.append(connection.getresponse().status)
        outcomes.append(statuses)
    assert outcomes[0] == outcomes[1], "the same seed plays the same faults"
    assert {200, 502, 503} == set(outcomes[0])
