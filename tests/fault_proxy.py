"""A reverse proxy on loopback that plays a bad network between the phone and the server.

The browser opens the app through ``FaultProxy.url``, so the service worker, the cookies and the
outbox all belong to the proxy's origin. Everything is forwarded faithfully except the requests
the current fault rule matches (by default only ``POST /lapor``; ``every_request=True`` for
"lie-fi", where the phone stays online and nothing gets through). Switch faults at any time from
the test thread:

    with FaultProxy(live_server.url) as proxy:
        proxy.set_fault("captive")
        ...
        proxy.set_fault("pass")

Modes: ``pass``; ``captive`` (200 text/html login page, nothing forwarded, as hotel or mosque Wi-Fi
does); ``drop_before`` (close the connection without forwarding); ``drop_after`` (forward, read the
server's whole answer, then close without answering: the server filed it, the phone never hears;
with ``seconds``, the connection hangs that long first, as a page would die waiting);
``delay`` (wait ``seconds``, then forward); ``status`` (answer ``status`` with an HTML body and an
optional ``Retry-After`` without forwarding); ``mix`` (each matching request draws one of the above
from ``weights`` with a seeded random generator, for a soak).
"""

from __future__ import annotations

import contextlib
import http.client
import random
import socket
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

MODES = ("pass", "captive", "drop_before", "drop_after", "delay", "status")
# Connection-level headers a proxy must not pass on (RFC 9110 7.6.1).
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}
CAPTIVE_PAGE = (
    b"<!doctype html><html><head><title>Login WiFi</title></head><body>"
    b"<h1>Login WiFi</h1><p>Masukkan kode voucher untuk memakai internet.</p>"
    b'<form method="post" action="/login"><input name="voucher"><button>Masuk</button></form>'
    b"</body></html>"
)
CHUNK = 64 * 1024


class Fault:
    """One fault rule: what to do, and to which requests."""

    def __init__(
        self,
        mode: str = "pass",
        *,
        seconds: float | tuple[float, float] = 0.0,
        status: int | tuple[int, ...] = 503,
        retry_after: int | None = None,
        weights: dict[str, float] | None = None,
        seed: int = 0,
        every_request: bool = False,
        method: str = "POST",
        path: str = "/lapor",
    ) -> None:
        if mode not in (*MODES, "mix"):
            raise ValueError(f"unknown fault mode {mode!r}")
        if mode == "mix" and not weights:
            raise ValueError("mix needs weights, e.g. {'pass': 3, 'drop_after': 1}")
        unknown = set(weights or {}) - set(MODES)
        if unknown:
            raise ValueError(f"unknown modes in weights: {sorted(unknown)}")
        self.mode = mode
        self.seconds = seconds
        self.status = status
        self.retry_after = retry_after
        self.weights = weights or {}
        self.random = random.Random(seed)
        self.every_request = every_request
        self.method = method
        self.path = path

    def matches(self, method: str, path: str) -> bool:
        return self.every_request or (method == self.method and path == self.path)

    def draw(self) -> tuple[str, float, int]:
        """The mode for one request, with its delay and status (drawn, for ``mix`` and ranges)."""
        mode = self.mode
        if mode == "mix":
            modes = list(self.weights)
            mode = self.random.choices(modes, weights=[self.weights[m] for m in modes])[0]
        seconds = self.seconds
        if isinstance(seconds, tuple):
            seconds = self.random.uniform(*seconds)
        status = self.status
        if isinstance(status, tuple):
            status = self.random.choice(status)
        return mode, seconds, status


class FaultProxy:
    """A threaded HTTP/1.1 reverse proxy in front of ``upstream_url`` (http://host:port)."""

    def __init__(self, upstream_url: str, host: str = "127.0.0.1", port: int = 0) -> None:
        upstream = urlsplit(upstream_url)
        self.upstream_url = upstream_url.rstrip("/")
        self.upstream_host = upstream.hostname or "127.0.0.1"
        self.upstream_port = upstream.port or 80
        self.upstream_netloc = upstream.netloc
        self._lock = threading.Lock()
        self._fault = Fault()
        self._stopping = threading.Event()
        self._sockets: set[socket.socket] = set()
        self.counts: Counter[tuple[str, str]] = Counter()
        self.server = _QuietServer((host, port), _handler_for(self))
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self._thread: threading.Thread | None = None

    # --- life cycle ---------------------------------------------------------------------------
    def start(self) -> FaultProxy:
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="fault-proxy", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # cuts delays short
        self.server.shutdown()
        self.server.server_close()
        with self._lock:
            open_sockets = list(self._sockets)
        for sock in open_sockets:  # keep-alive connections waiting for their next request
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- the test's controls ------------------------------------------------------------------
    def set_fault(self, mode: str = "pass", **options) -> None:
        """Switch the fault; see ``Fault`` for the options (seconds, status, retry_after, weights,
        seed, every_request, method, path). Takes effect for the next request that arrives."""
        fault = Fault(mode, **options)
        with self._lock:
            self._fault = fault

    def count(self, outcome: str, path: str = "POST /lapor") -> int:
        """How many ``path`` requests had ``outcome``: a mode name, or ``forwarded`` (reached the
        server, whether or not the answer came back)."""
        with self._lock:
            return self.counts[(path, outcome)]

    def total(self, outcome: str) -> int:
        """How many requests, whatever their path, had ``outcome``."""
        with self._lock:
            return sum(n for (_, seen), n in self.counts.items() if seen == outcome)

    def report(self) -> str:
        """One line per path: what happened to its requests, e.g. ``pass=3 forwarded=3``."""
        with self._lock:
            rows = sorted(self.counts.items())
        lines: dict[str, list[str]] = {}
        for (path, outcome), n in rows:
            lines.setdefault(path, []).append(f"{outcome}={n}")
        return "\n".join(f"{path}  {' '.join(outcomes)}" for path, outcomes in lines.items())

    # --- used by the handler ------------------------------------------------------------------
    def _decide(self, method: str, path: str) -> tuple[str, float, int, int | None]:
        with self._lock:
            fault = self._fault
            if not fault.matches(method, path):
                mode, seconds, status = "pass", 0.0, 0
            else:
                mode, seconds, status = fault.draw()
            self.counts[(f"{method} {path}", mode)] += 1
            return mode, seconds, status, fault.retry_after

    def _record(self, method: str, path: str, outcome: str) -> None:
        with self._lock:
            self.counts[(f"{method} {path}", outcome)] += 1

    def _track(self, sock: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._sockets.add(sock)
            else:
                self._sockets.discard(sock)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # A browser that resets a kept-alive connection (a closed page) is normal here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive towards the browser

        def setup(self) -> None:
            super().setup()
            proxy._track(self.connection, add=True)

        def finish(self) -> None:
            proxy._track(self.connection, add=False)
            super().finish()

        def log_message(self, format, *args) -> None:
            pass

        def do_GET(self) -> None:
            self._relay()

        do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

        def _read_body(self) -> bytes:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                parts = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        return b"".join(parts)
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _relay(self) -> None:
            try:
                self._relay_one()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the browser went away (page closed, reloaded)

        def _relay_one(self) -> None:
            body = self._read_body()
            path = urlsplit(self.path).path
            mode, seconds, status, retry_after = proxy._decide(self.command, path)
            if mode == "drop_before":
                self.close_connection = True
                return
            if mode == "captive":
                self._answer(200, CAPTIVE_PAGE)
                return
            if mode == "status":
                self._answer(status, _status_page(status), retry_after=retry_after)
                return
            if mode == "delay" and proxy._stopping.wait(seconds):
                self.close_connection = True
                return
            self._forward(body, path, drop_after=seconds if mode == "drop_after" else None)

        def _answer(self, status: int, page: bytes, retry_after: int | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.send_header("Cache-Control", "no-store")
            if retry_after is not None:
                self.send_header("Retry-After", str(retry_after))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(page)

        def _forward(self, body: bytes, path: str, drop_after: float | None) -> None:
            headers = {}
            for name, value in self.headers.items():
                if name.lower() in HOP_BY_HOP or name.lower() in ("host", "content-length"):
                    continue
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
            headers["Host"] = proxy.upstream_netloc
            if body or self.command in ("POST", "PUT", "PATCH"):
                headers["Content-Length"] = str(len(body))
            # One upstream connection per request: a kept-alive one the server has timed out
            # could not be told apart from a fault, and retrying a POST is the client's job.
            upstream = http.client.HTTPConnection(
                proxy.upstream_host, proxy.upstream_port, timeout=60
            )
            try:
                try:
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    proxy._record(self.command, path, "forwarded")
                    response = upstream.getresponse()
                except (OSError, http.client.HTTPException):
                    # The server is down or cut us off before answering: what nginx would say.
                    self._answer(502, _status_page(502))
                    return
                if drop_after is not None:
                    with contextlib.suppress(OSError, http.client.HTTPException):
                        response.read()
                    proxy._stopping.wait(drop_after)  # the phone hears nothing meanwhile
                    self.close_connection = True
                    return
                try:
                    self._relay_response(response)
                except (http.client.HTTPException, TimeoutError):
                    self.close_connection = True  # the server died mid-answer: so does ours
            finally:
                upstream.close()

        def _relay_response(self, response: http.client.HTTPResponse) -> None:
            self.send_response_only(response.status, response.reason)
            has_length = False
            for name, value in response.getheaders():
                lower = name.lower()
                if lower in HOP_BY_HOP:
                    continue
                if lower == "content-length":
                    has_length = True
                if lower == "location" and value.startswith(proxy.upstream_url):
                    value = proxy.url + value[len(proxy.upstream_url) :]
                self.send_header(name, value)
            no_body = self.command == "HEAD" or response.status in (204, 304)
            chunked = not has_length and not no_body
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if no_body:
                return
            # Stream as it comes (server-sent events included), never the whole answer at once.
            while True:
                data = response.read1(CHUNK) if chunked else response.read(CHUNK)
                if not data:
                    break
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                else:
                    self.wfile.write(data)
                self.wfile.flush()
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    return Handler


def _status_page(status: int) -> bytes:
    reason = http.client.responses.get(status, "Error")
    return (
        f"<!doctype html><html><head><title>{status} {reason}</title></head>"
        f"<body><center><h1>{status} {reason}</h1></center><hr><center>nginx</center>"
        "</body></html>"
    ).encode()
