"""Behind a reverse proxy, through a real server process run with the production flags:
forged X-Forwarded-For entries and slow bodies, as an attacker would send them."""

from __future__ import annotations

import select
import socket
import time

import httpx
import pytest

from tests.browser import free_port, start_server, stop_server
from tests.helpers import refused_for_this_network, request_code


@pytest.fixture
def serve(tmp_path):
    """Start a server with the given settings; stopped at the end of the test."""
    processes = []

    def start(**env: str):
        process, server = start_server(tmp_path, free_port(), **env)
        processes.append(process)
        return server

    yield start
    for process in processes:
        stop_server(process)


def test_a_client_writing_its_own_forwarded_for_cannot_escape_the_per_ip_limit(serve):
    server = serve(ADUAN_OTP_PER_IP_LIMIT="2")
    with httpx.Client(base_url=server.url) as http:
        assert request_code(http, 1).status_code == 303
        assert request_code(http, 2, forwarded_for="203.0.113.1").status_code == 303
        # Limit reached: new addresses in the header change nothing, whatever their form.
        for serial, forged in enumerate(["203.0.113.99", "198.51.100.1, 203.0.113.98", "::1"], 3):
            assert refused_for_this_network(request_code(http, serial, forwarded_for=forged))


def test_behind_a_trusted_proxy_only_the_hop_it_added_counts(serve):
    """nginx's $proxy_add_x_forwarded_for appends the real client to what the client wrote."""
    server = serve(ADUAN_OTP_PER_IP_LIMIT="2", ADUAN_TRUSTED_PROXIES="127.0.0.1,::1")
    with httpx.Client(base_url=server.url) as http:
        for serial in (1, 2):
            forwarded = f"10.0.0.{serial}, 203.0.113.7"
            assert request_code(http, serial, forwarded_for=forwarded).status_code == 303
        for serial, forged in enumerate(["10.0.0.9", "192.0.2.1, 10.0.0.10", "garbage"], 3):
            forwarded = f"{forged}, 203.0.113.7"
            assert refused_for_this_network(request_code(http, serial, forwarded_for=forwarded))
        # Another citizen behind the same proxy is counted on their own.
        assert request_code(http, 9, forwarded_for="203.0.113.8").status_code == 303


@pytest.fixture(scope="module")
def slow_body_server(tmp_path_factory):
    """One server for the body tests: reading a body may take 4 s."""
    process, server = start_server(
        tmp_path_factory.mktemp("slow"), free_port(), ADUAN_REQUEST_BODY_TIMEOUT_SECONDS="4"
    )
    yield server
    stop_server(process)


def _raw_post(server_url: str, cookie: str, length: int) -> socket.socket:
    host, port = server_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.sendall(
        (
            "POST /masuk HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\n"
            f"Cookie: csrftoken={cookie}\r\n"
            f"x-csrftoken: {cookie}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {length}\r\n\r\n"
        ).encode()
    )
    return sock


RESET = b"<reset by the server>"


def _read_to_close(sock: socket.socket, deadline: float) -> bytes:
    """Everything the server sends until it closes the connection (fails at the deadline)."""
    data = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([sock], [], [], 0.2)
        if ready:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                # A drip byte sent after the server closed makes its kernel answer RST, which can
                # discard the 408 already in our buffer: the connection was cut all the same.
                return data or RESET
            if not chunk:
                return data
            data += chunk
    raise AssertionError(f"connection still open; got {data[:200]!r}")


def test_bodies_dripping_a_byte_at_a_time_are_cut_off(slow_body_server):
    server = slow_body_server
    cookie = httpx.get(f"{server.url}/masuk").cookies["csrftoken"]
    started = time.monotonic()
    drips = [_raw_post(server.url, cookie, length=1000) for _ in range(6)]
    answers: dict[socket.socket, bytes] = {}
    deadline = started + 30  # far beyond the 4 s setting: a loaded machine is no failure
    while len(answers) < len(drips):
        assert time.monotonic() < deadline, f"{len(drips) - len(answers)} connections never cut"
        for sock in drips:
            if sock in answers:
                continue
            if select.select([sock], [], [], 0)[0]:
                answers[sock] = _read_to_close(sock, deadline)
            else:
                sock.sendall(b"p")
        time.sleep(0.25)
    elapsed = time.monotonic() - started
    for sock in answers:
        sock.close()
    read = [answer for answer in answers.values() if answer != RESET]
    assert read, "every connection was reset before its answer could be read"
    for answer in read:
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b"connection: close" in answer.lower()
        assert b"terlalu lambat" in answer
    assert elapsed >= 4  # the deadline, not an earlier error, ended them


def test_a_slow_but_steady_body_within_the_deadline_is_served(slow_body_server):
    server = slow_body_server
    cookie = httpx.get(f"{server.url}/masuk").cookies["csrftoken"]
    body = b"phone=081277776666&note=" + b"x" * 20_000
    sock = _raw_post(server.url, cookie, length=len(body))
    for start in range(0, len(body), 2_000):  # ten pieces over about a second
        sock.sendall(body[start : start + 2_000])
        time.sleep(0.1)
    answer = _read_to_close_or_response(sock)
    sock.close()
    # The form was read and judged: the number is not registered (400), not a timeout (408).
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"belum terdaftar" in answer


def _read_to_close_or_response(sock: socket.socket) -> bytes:
    """A kept-alive response: read until its Content-Length is complete."""
    data = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if select.select([sock], [], [], 0.2)[0]:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            head, sep, rest = data.partition(b"\r\n\r\n")
            if sep:
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in head.lower().split(b"\r\n")
                        if line.startswith(b"content-length:")
                    ),
                    None,
                )
                if length is not None and len(rest) >= length:
                    break
    return data
