"""Helpers that act like a user over HTTP: forms with CSRF, sign-in through the dev messenger."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from litestar.testing import TestClient

# The HTML readers live in tests/html.py; many modules import them from here.
from tests.html import field_error, form_value, soup  # noqa: F401
from web.city import get_city
from web.seed import demo_nik

DEMO_PHONE_LOCAL = "0812-1111-2222"
DEMO_PHONE_E164 = "+6281211112222"


def db(client: TestClient, fn: Callable[[], Awaitable[Any]]) -> Any:
    """Run a database query on the app's own event loop (its connection pool lives there)."""
    return client.blocking_portal.call(fn)


def clear_of_boundary(period_seconds: int, margin: float = 5.0) -> None:
    """Return when the wall clock is at least ``margin`` seconds away from the next multiple of
    ``period_seconds`` (sleeping past it if needed), so a few quick steps that must share one
    clock bucket cannot straddle its edge, whatever time the suite runs."""
    left = period_seconds - time.time() % period_seconds
    if left < margin:
        time.sleep(left + 0.05)


def csrf_cookie(client: TestClient) -> str | None:
    """The CSRF cookie as the page's JS reads it: __Host-csrftoken over https, else csrftoken."""
    return client.cookies.get("__Host-csrftoken") or client.cookies.get("csrftoken")


def csrf(client: TestClient) -> str:
    token = csrf_cookie(client)
    if token is None:
        client.get("/")
        token = csrf_cookie(client)
    assert token, "no CSRF cookie was set"
    return token


def post_form(client: TestClient, url: str, data: dict, files=None, headers_extra=None, **kwargs):
    headers = {"x-csrftoken": csrf(client), **(headers_extra or {})}
    return client.post(url, data=data, files=files, headers=headers, **kwargs)


def last_code(client: TestClient, phone_e164: str) -> str:
    messenger = client.app.state.services.messenger
    for phone, text in reversed(messenger.sent):
        if phone == phone_e164:
            match = re.search(r"\b(\d{6})\b", text)
            if match:
                return match.group(1)
    raise AssertionError(f"no code was sent to {phone_e164}")


def valid_nik(serial: int = 1) -> str:
    return demo_nik(get_city())[:-4] + f"{serial:04d}"


def register(
    client: TestClient,
    *,
    nik: str | None = None,
    phone: str = DEMO_PHONE_LOCAL,
    name: str = "Siti Aminah",
):
    """Register and sign in a citizen the way a person does; returns the final response."""
    response = post_form(
        client, "/daftar", {"nik": nik or valid_nik(), "name": name, "phone": phone}
    )
    assert response.status_code == 200, field_error(response, "nik") or response.text[:500]
    e164 = "+62" + re.sub(r"\D", "", phone).lstrip("0").removeprefix("62")
    return post_form(client, "/masuk/kode", {"code": last_code(client, e164), "action": "verify"})


def app_routes(app):
    """Every (method, path, handler) of the running app, from its route table: tests that walk it
    cover a new route without anyone adding it. HEAD and OPTIONS are Litestar's automatic ones."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                yield method, route.path, handler


def at_once(requests: list) -> list[httpx.Response]:
    """Run each request (a callable) in its own thread, released together."""
    gate = threading.Barrier(len(requests))
    results: list = [None] * len(requests)

    def run(i: int) -> None:
        gate.wait()
        try:
            results[i] = requests[i]()
        except Exception as exc:  # the assertion below shows it
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(isinstance(r, httpx.Response) for r in results), results
    return results


def refused_for_this_network(response: httpx.Response) -> bool:
    return response.status_code == 400 and "jaringan ini" in response.text


def request_code(
    http: httpx.Client, serial: int, forwarded_for: str | None = None
) -> httpx.Response:
    """Register with a fresh NIK and number: each success sends one sign-in code."""
    if "csrftoken" not in http.cookies:
        http.get("/daftar")
    headers = {"x-csrftoken": http.cookies["csrftoken"]}
    if forwarded_for is not None:
        headers["x-forwarded-for"] = forwarded_for
    data = {"nik": valid_nik(serial), "name": "Budi", "phone": f"0812000{serial:05d}"}
    return http.post("/daftar", data=data, headers=headers)
