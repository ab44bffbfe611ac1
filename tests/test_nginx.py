"""deploy/nginx/aduan.conf, run for real by nginx in front of a real app server.

Only ports, file paths and the app's address are changed for the test. The client connects from
127.0.0.2, so that it is not one of the trusted proxies (nginx reaches the app from 127.0.0.1).
"""

from __future__ import annotations

import os
import re
import select
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.browser import free_port, start_server, stop_server
from tests.conftest import run_async
from tests.factories import make_staff_user
from tests.helpers import refused_for_this_network, request_code
from tests.staff_helpers import PASSWORD
from web.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deploy" / "nginx" / "aduan.conf"
CLIENT_ADDRESS = "127.0.0.2"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def test_body_size_matches_what_the_app_accepts():
    """nginx must not refuse what the app accepts, nor buffer to disk what the app refuses."""
    match = re.search(r"^\s*client_max_body_size (\d+)m;", CONFIG.read_text(), re.MULTILINE)
    assert match, "client_max_body_size missing"
    settings = Settings()
    app_limit = settings.photos_per_complaint * settings.photo_max_bytes + 2 * 1024 * 1024
    assert int(match[1]) * 1024 * 1024 == app_limit


def _test_config(folder: Path, app_ports: list[int], http_port: int, https_port: int) -> Path:
    """The shipped file with test ports and paths, wrapped in a minimal nginx.conf."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "2", "-subj", "/CN=aduan.example.go.id",
         "-keyout", str(folder / "privkey.pem"), "-out", str(folder / "fullchain.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    site = CONFIG.read_text()
    replacements = {
        "/etc/letsencrypt/live/aduan.example.go.id": str(folder),
        "/var/cache/nginx/aduan": str(folder / "cache"),
        "/var/www/certbot": str(folder / "www"),
        "server 127.0.0.1:8000 ": f"server 127.0.0.1:{app_ports[0]} ",
        # The second web node, as the file shows it for several machines.
        "# server 10.0.0.12:8000 ": f"server 127.0.0.1:{app_ports[1]} ",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:80;": "",
        "listen [::]:443 ssl http2;": "",
        "client_header_timeout 10s;": "client_header_timeout 2s;",  # shorter, for the test
    }
    for old, new in replacements.items():
        assert old in site, f"{old!r} is no longer in {CONFIG.name}: update this test"
        site = site.replace(old, new)
    (folder / "aduan.conf").write_text(site)
    temp = " ".join(
        f"{kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = folder / "nginx.conf"
    main.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")  # workers must write temp files in folder
        + f"daemon off;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'} warn;\n"
        + "events { worker_connections 256; }\n"
        + f"http {{\naccess_log off;\n{temp}\ninclude {folder / 'aduan.conf'};\n}}\n"
    )
    return main


@pytest.fixture(scope="module")
def web_nodes(tmp_path_factory):
    """Two app servers on one database: the two web nodes of the upstream block."""
    nodes = []
    try:
        for _ in range(2):
            nodes.append(
                start_server(
                    tmp_path_factory.mktemp("node"),
                    free_port(),
                    ADUAN_TRUSTED_PROXIES="127.0.0.1",
                    ADUAN_OTP_PER_IP_LIMIT="2",
                )
            )
        yield nodes
    finally:
        for process, _ in nodes:
            if process.poll() is None:
                stop_server(process)


@pytest.fixture(scope="module")
def proxied(tmp_path_factory, web_nodes):
    """The app (two nodes) behind nginx; yields (https url, http url)."""
    if not Path(NGINX).exists():
        pytest.fail("nginx not found: scripts/bootstrap test installs it (apt)")
    folder = tmp_path_factory.mktemp("nginx")
    app_ports = [int(server.url.rsplit(":", 1)[1]) for _, server in web_nodes]
    http_port, https_port = free_port(), free_port()
    config = _test_config(folder, app_ports, http_port, https_port)
    check = subprocess.run(
        [NGINX, "-t", "-p", str(folder), "-c", str(config)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    nginx = subprocess.Popen([NGINX, "-p", str(folder), "-c", str(config)], stderr=subprocess.PIPE)
    try:
        url = f"https://127.0.0.1:{https_port}"
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(f"{url}/readyz", verify=False, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert nginx.poll() is None and time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.1)
        yield url, f"http://127.0.0.1:{http_port}"
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)


def _client(url: str, address: str = CLIENT_ADDRESS) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address, verify=False)
    return httpx.Client(base_url=url, transport=transport)


def test_plain_http_is_sent_to_https(proxied):
    _, http_url = proxied
    response = httpx.get(f"{http_url}/laporan?x=1", headers={"Host": "aduan.example.go.id"})
    assert response.status_code == 301
    assert response.headers["location"] == "https://aduan.example.go.id/laporan?x=1"


def test_forged_forwarded_for_through_nginx_cannot_escape_the_per_ip_limit(proxied):
    url, _ = proxied
    with _client(url) as http:
        assert request_code(http, 1, forwarded_for="203.0.113.1").status_code == 303
        assert request_code(http, 2, forwarded_for="203.0.113.2").status_code == 303
        # nginx appended 127.0.0.2 to each: that, not the forged part, is the client.
        for serial, forged in enumerate(["203.0.113.3", "127.0.0.1", "10.0.0.1, 127.0.0.1"], 3):
            assert refused_for_this_network(request_code(http, serial, forwarded_for=forged))
    # Another citizen on the same proxy is counted on their own, not as nginx's address.
    with _client(url, "127.0.0.3") as http:
        assert request_code(http, 9).status_code == 303


def test_the_request_id_is_nginxs_not_the_clients(proxied):
    url, _ = proxied
    with _client(url) as http:
        answer = http.get("/healthz", headers={"X-Request-ID": "client-chosen-0001"})
    # nginx's $request_id (32 hex digits; the app makes 16), kept because nginx is a trusted proxy.
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["x-request-id"])


def _tls_socket(url: str) -> ssl.SSLSocket:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    port = int(url.rsplit(":", 1)[1])
    raw = socket.create_connection(
        ("127.0.0.1", port), timeout=5, source_address=(CLIENT_ADDRESS, 0)
    )
    return context.wrap_socket(raw)


def _answer(sock: ssl.SSLSocket, within: float) -> bytes:
    """What the server says until it closes the connection; fails if it is still open later."""
    data = b""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except (ConnectionError, ssl.SSLError):
            return data
        if not chunk:
            return data
        data += chunk
    raise AssertionError(f"connection still open; got {data[:200]!r}")


def test_an_oversized_upload_is_refused_before_it_is_sent(proxied):
    url, _ = proxied
    with _tls_socket(url) as sock:
        sock.sendall(
            b"POST /lapor HTTP/1.1\r\nHost: aduan.example.go.id\r\nConnection: close\r\n"
            + f"Content-Length: {53 * 1024 * 1024}\r\n\r\n".encode()
        )
        assert _answer(sock, within=15).startswith(b"HTTP/1.1 413")


def test_a_client_dripping_its_headers_is_cut_off(proxied):
    url, _ = proxied
    with _tls_socket(url) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: aduan.example.go.id\r\n")
        started = time.monotonic()
        while not select.select([sock], [], [], 0.5)[0]:
            assert time.monotonic() - started < 30, "nginx kept a connection whose head never ended"
            try:
                sock.sendall(b"X-Drip: 1\r\n")
            except (ConnectionError, ssl.SSLError):
                break
        _answer(sock, within=15)  # closed, with a 408 or without a word
        assert time.monotonic() - started >= 1.5  # the test config's 2 s, not an early error


# Last in this module: it stops one of the two nodes.
def test_the_live_inbox_stream_passes_through_at_once(proxied):
    """Server-sent events reach the browser as they are sent: not gzipped, not held in a buffer."""
    url, _ = proxied
    run_async(lambda: make_staff_user("operator-nginx"))
    with _client(url) as http:
        http.get("/staf/masuk")
        token = http.cookies.get("__Host-csrftoken") or http.cookies["csrftoken"]
        signed_in = http.post(
            "/staf/masuk",
            data={"username": "operator-nginx", "password": PASSWORD},
            headers={"x-csrftoken": token},
        )
        assert signed_in.status_code == 303
        started = time.monotonic()
        headers = {"Accept": "text/event-stream", "Accept-Encoding": "gzip"}
        with http.stream("GET", "/operator/langsung", headers=headers, timeout=5) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert "content-encoding" not in stream.headers
            first = next(stream.iter_lines())
        # The first event is a few bytes: buffered, it would wait for the next keep-alive (15 s).
        assert first == "event: ready" and time.monotonic() - started < 2


def test_both_nodes_serve_and_a_node_that_goes_down_is_skipped(proxied, web_nodes):
    url, _ = proxied
    with _client(url) as http:
        for _ in range(6):
            assert http.get("/transparansi").status_code == 200
        for _, server in web_nodes:  # round robin: each node served some of them
            assert "/transparansi" in server.log_path.read_text(errors="replace")
        stop_server(web_nodes[1][0])
        # nginx (open source) notices only by failing to connect, and then asks the other node.
        assert [http.get("/").status_code for _ in range(6)] == [200] * 6
