"""One log format: JSON lines from a real server process and from the worker, the request id in
every line of a request, and nothing secret in the access line."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.browser import ROOT, free_port, start_server, stop_server
from tests.helpers import valid_nik
from web.forwarded import parse_trusted_proxies
from web.logs import TextFormatter, bound_id, request_id_for
from web.settings import SettingsError, load_settings

FIELDS = {"ts", "level", "logger", "host", "pid", "request_id", "msg"}
UTC_MILLIS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
PROXY = "127.0.0.2"  # the one trusted proxy; the tests' own address 127.0.0.1 is a stranger


def json_lines(text: str) -> list[dict]:
    """Every line is one JSON object with the common fields (json.loads fails on anything else)."""
    entries = [json.loads(line) for line in text.splitlines() if line.strip()]
    for entry in entries:
        assert entry.keys() >= FIELDS, entry
        assert UTC_MILLIS.fullmatch(entry["ts"]), entry["ts"]
        assert entry["host"] == socket.gethostname()
    return entries


def client_from(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)


@pytest.fixture(scope="module")
def json_server(database, tmp_path_factory):
    process, server = start_server(
        tmp_path_factory.mktemp("logs"),
        free_port(),
        ADUAN_LOG_FORMAT="json",
        ADUAN_TRUSTED_PROXIES=PROXY,
    )
    yield process, server
    stop_server(process)


def server_entries(server, *request_ids: str, timeout: float = 5.0) -> list[dict]:
    """The log so far, once the access lines of ``request_ids`` (written after the response
    went out) are in."""
    deadline = time.monotonic() + timeout
    while True:
        entries = json_lines(server.log_path.read_text())
        logged = {e["request_id"] for e in entries if e["logger"] == "aduan.access"}
        if set(request_ids) <= logged or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


def access_line(entries: list[dict], request_id: str) -> dict:
    [line] = [e for e in entries if e["logger"] == "aduan.access" and e["request_id"] == request_id]
    return line


def test_server_lines_are_json_with_host_pid_and_uvicorns_own_lines(json_server):
    process, server = json_server
    answer = httpx.get(server.url + "/healthz")
    entries = server_entries(server, answer.headers["x-request-id"])
    assert {e["pid"] for e in entries} == {process.pid}
    assert any(
        e["logger"] == "uvicorn.error" and "Application startup complete" in e["msg"]
        for e in entries
    )
    assert not any(e["logger"] == "uvicorn.access" for e in entries)


def test_one_request_id_in_the_header_the_access_line_and_the_apps_own_line(json_server):
    _, server = json_server
    nik = valid_nik(71)
    with client_from("127.0.0.1") as client:
        client.get(server.url + "/")
        answer = client.post(
            server.url + "/daftar",
            data={"nik": nik, "name": "Budi", "phone": "081233337101"},
            headers={"x-csrftoken": client.cookies["csrftoken"]},
        )
    assert answer.status_code == 303
    request_id = answer.headers["x-request-id"]
    entries = server_entries(server, request_id)
    access = access_line(entries, request_id)
    assert access["method"] == "POST" and access["path"] == "/daftar"
    assert access["status"] == 303
    assert access["client_ip"] == "127.0.0.1"
    assert access["duration_ms"] >= 0 and access["bytes"] == len(answer.content)
    # The sign-in code went out during this request: its line carries the same id.
    [sent] = [
        e for e in entries if e["logger"] == "aduan.messenger" and "+6281233337101" in e["msg"]
    ]
    assert sent["request_id"] == request_id
    # A form's NIK is never written anywhere.
    assert nik not in server.log_path.read_text()


def test_a_forged_request_id_from_a_stranger_is_replaced(json_server):
    _, server = json_server
    with client_from("127.0.0.1") as stranger:
        answer = stranger.get(server.url + "/healthz", headers={"X-Request-ID": "forged-id-0001"})
    request_id = answer.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", request_id)  # made by the app
    entries = server_entries(server, request_id)
    assert access_line(entries, request_id)["status"] == 200
    assert "forged-id-0001" not in server.log_path.read_text()


def test_the_proxys_request_id_and_client_address_are_kept(json_server):
    _, server = json_server
    with client_from(PROXY) as proxy:
        answer = proxy.get(
            server.url + "/healthz",
            headers={"X-Request-ID": "nginx-5f3c2a9e1b", "X-Forwarded-For": "203.0.113.9"},
        )
    assert answer.headers["x-request-id"] == "nginx-5f3c2a9e1b"
    line = access_line(server_entries(server, "nginx-5f3c2a9e1b"), "nginx-5f3c2a9e1b")
    assert line["client_ip"] == "203.0.113.9"  # as the per-IP limits see it


def test_no_query_string_secrets_in_access_lines(json_server):
    _, server = json_server
    nik = valid_nik(72)
    query = f"?next=/laporan&code=482913&kode=482913&nik={nik}&token=s3cr3t-t0ken&q=081233337102"
    with client_from("127.0.0.1") as client:
        answers = [
            client.get(server.url + "/masuk" + query),
            client.get(server.url + "/operator" + query),
            client.get(server.url + "/tidak-ada" + query),  # no route: a 404 is logged too
        ]
    ids = [a.headers["x-request-id"] for a in answers]
    entries = server_entries(server, *ids)
    lines = [access_line(entries, request_id) for request_id in ids]
    assert [line["path"] for line in lines] == ["/masuk", "/operator", "/tidak-ada"]
    assert [line["status"] for line in lines] == [a.status_code for a in answers]
    written = json.dumps(lines)
    for secret in ("482913", nik, "s3cr3t-t0ken", "081233337102", "?"):
        assert secret not in written


def test_request_ids_a_proxy_may_set():
    proxies = parse_trusted_proxies(PROXY)
    assert request_id_for(PROXY, ["0f9a3c2e-77b1-4c4e-9a51-3d1f0c6b2a10"], proxies) == (
        "0f9a3c2e-77b1-4c4e-9a51-3d1f0c6b2a10"
    )
    for bad in (
        "short",
        "a" * 129,
        "id with spaces",
        "id\nINFO forged line",
        "id;drop",
        "ïd-123456",
    ):
        assert request_id_for(PROXY, [bad], proxies) != bad
    assert request_id_for(PROXY, ["first-id-0001", "second-id-0002"], proxies) not in (
        "first-id-0001",
        "second-id-0002",
    )
    generated = {request_id_for("127.0.0.1", [], proxies) for _ in range(50)}
    assert len(generated) == 50


def test_worker_lines_are_json_with_a_run_id_per_job_run(database, tmp_path):
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "ADUAN_LOG_FORMAT": "json",
        # Both jobs have something to do on their first run, so each writes a line.
        "ADUAN_REPORT_TIME": "00:00",
        "PYTHONUNBUFFERED": "1",
    }
    wanted = ("job public_figures:", "job daily_report:")
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "web.worker"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    try:
        deadline = time.monotonic() + 30
        runs: list[dict] = []
        while len(runs) < len(wanted) and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.2)
            runs = [e for e in json_lines(log_path.read_text()) if e["msg"].startswith(wanted)]
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    assert len(runs) == len(wanted), log_path.read_text()[-2000:]
    entries = json_lines(log_path.read_text())
    assert {e["pid"] for e in entries} == {worker.pid}
    assert any(e["msg"].startswith("jobs running as") for e in entries)
    for entry in runs:
        assert entry["logger"] == "aduan.jobs"
        job = entry["msg"].split()[1].rstrip(":")
        assert entry["request_id"].startswith(f"{job}-")
    assert len({e["request_id"] for e in runs}) == len(runs)  # one id per run


def test_text_lines_carry_the_same_fields_for_people():
    record = logging.LogRecord(
        "aduan.jobs", logging.INFO, __file__, 1, "job %s: %s", ("x", 3), None
    )
    with bound_id("sla_clock-0123456789abcdef"):
        line = TextFormatter().format(record)
    stamp, level, logger, host, pid, request_id, message = line.split(" ", 6)
    assert UTC_MILLIS.fullmatch(stamp)
    assert (level, logger) == ("INFO", "aduan.jobs")
    assert host == f"host={socket.gethostname()}" and pid == f"pid={os.getpid()}"
    assert request_id == "request_id=sla_clock-0123456789abcdef"
    assert message == "job x: 3"
    # Outside a request or job run there is no id to show.
    assert "request_id=" not in TextFormatter().format(record)


def test_log_settings_are_checked():
    for name, value in (("ADUAN_LOG_FORMAT", "xml"), ("ADUAN_LOG_LEVEL", "loud")):
        with pytest.raises(SettingsError, match=name):
            load_settings({name: value})
    assert load_settings({"ADUAN_LOG_LEVEL": "debug"}).log_level == "debug"
