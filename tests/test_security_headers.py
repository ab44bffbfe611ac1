"""Security and caching headers, checked on every route of the running app.

The routes come from the app's route table (as in test_staff_access.py), so a new route is covered
the moment it exists: requested signed out, as a citizen and as staff; POST routes with an empty
form and without a CSRF token (their error answers need the headers as much as their pages).
"""

from __future__ import annotations

import re

import pytest

from tests.helpers import app_routes, post_form, register
from tests.html import soup
from tests.staff_helpers import make_staff, staff_sign_in

HTTPS_URL = "https://aduan.cilegon.go.id"
# Public, personal-data-free answers that may be kept by a browser (with revalidation or a hash).
CACHEABLE = (
    "/static/",
    "/sw.js",
    "/manifest.webmanifest",
    "/notifikasi/kunci",
    "/transparansi",
    "/open311/",  # open data, the same for everyone; no session is read
)


def directives(policy: str) -> dict[str, list[str]]:
    found = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            found[words[0]] = words[1:]
    return found


def assert_protected(response, where: str, *, https: bool = False) -> None:
    headers = response.headers
    csp = directives(headers.get("content-security-policy", ""))
    assert csp.get("default-src") == ["'self'"], where
    assert csp.get("script-src") == ["'self'"], where  # no unsafe-inline, no unsafe-eval
    assert csp.get("style-src") == ["'self'"], where
    assert csp.get("frame-ancestors") == ["'none'"], where
    assert csp.get("object-src") == ["'none'"], where
    for name in ("base-uri", "form-action", "connect-src", "worker-src", "manifest-src"):
        assert csp.get(name) == ["'self'"], (where, name)
    assert headers.get("x-frame-options") == "DENY", where
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("referrer-policy") == "strict-origin-when-cross-origin", where
    assert "geolocation=(self)" in headers.get("permissions-policy", ""), where
    assert "microphone=()" in headers.get("permissions-policy", ""), where
    assert headers.get("cross-origin-opener-policy") == "same-origin", where
    assert headers.get("cache-control"), where
    # Only Aduan says so: the service worker caches no page without it (a captive portal's login).
    assert headers.get("x-aduan") == "1", where
    if https:
        assert headers.get("strict-transport-security", "").startswith("max-age="), where
    else:
        assert "strict-transport-security" not in headers, where  # never pin plain-HTTP dev sites


@pytest.fixture
def ticket(dispatched_ticket):
    return dispatched_ticket


def fill(path: str, ticket: dict, static_path: str) -> str:
    values = {
        "number": ticket["number"],
        "photo_id": str(ticket["photo_id"]),
        "staff_id": "999999",
        "category_id": "1",
        "device_id": "999999",
        "locale": "en",
        "path": static_path,
        "service_file": "jalan-rusak.json",
        "request_file": f"{ticket['number']}.xml",
        "key_id": "999999",
        "token": "00000000-0000-0000-0000-000000000000.xml",
    }
    return re.sub(r"\{(\w+):\w+\}", lambda m: values[m.group(1)], path)


def test_every_route_sends_the_security_headers(make_client, ticket):
    admin = make_client()
    make_staff(admin, "admin")
    staff_sign_in(admin, "admin-kota")
    opd = make_client()
    make_staff(opd, "opd_staff", opd_slug="pupr")
    staff_sign_in(opd, "opd_staff-pupr")
    clients = {
        "signed out": make_client(),
        "citizen": ticket["citizen"],
        "admin": admin,
        "opd": opd,
    }
    static_path = admin.app.state.assets.url("css/app.css").removeprefix("/static/")

    checked = 0
    for method, path, _handler in app_routes(admin.app):
        url = fill(path, ticket, static_path)
        for who, client in clients.items():
            if method == "GET":
                answers = [client.get(url, follow_redirects=False)]
            else:
                answers = [
                    post_form(client, url, {}, follow_redirects=False),
                    client.post(url, data={}, follow_redirects=False),  # no CSRF token: 403
                ]
            for response in answers:
                where = f"{who} {method} {url} -> {response.status_code}"
                assert_protected(response, where)
                if who != "signed out" and not url.startswith(CACHEABLE):
                    # Signed in, anything that is not public stays out of every cache.
                    assert "no-store" in response.headers["cache-control"], where
                checked += 1
    assert checked > 150

    # Answers no handler wrote: unknown paths, wrong methods, a redirect.
    stranger = clients["signed out"]
    assert_protected(stranger.get("/tidak-ada"), "404")
    assert_protected(stranger.put("/"), "405")
    assert_protected(stranger.get("/laporan", follow_redirects=False), "sign-in redirect")


def test_personal_pages_and_every_photo_stay_out_of_the_cache(make_client, ticket):
    citizen, number, photo = ticket["citizen"], ticket["number"], ticket["photo_id"]
    operator = make_client()
    make_staff(operator, "operator")
    staff_sign_in(operator, "operator-kota")
    answers = {
        "/laporan": citizen.get("/laporan"),
        "/laporan/{n}": citizen.get(f"/laporan/{number}"),
        "/akun": citizen.get("/akun"),
        "citizen photo": citizen.get(f"/laporan/{number}/foto/{photo}"),
        "citizen thumbnail": citizen.get(f"/laporan/{number}/foto/{photo}/kecil"),
        "staff photo": operator.get(f"/staf/foto/{photo}"),
        "staff thumbnail": operator.get(f"/staf/foto/{photo}/kecil"),
    }
    for what, response in answers.items():
        assert response.status_code == 200, what
        assert "no-store" in response.headers["cache-control"], what
        assert "max-age" not in response.headers["cache-control"], what
        assert "public" not in response.headers["cache-control"], what
        assert response.headers["x-content-type-options"] == "nosniff", what
    for what in ("citizen photo", "citizen thumbnail", "staff photo", "staff thumbnail"):
        assert answers[what].headers["content-type"] == "image/jpeg", what
    # Both photo handlers answer alike.
    assert (
        answers["citizen photo"].headers["cache-control"]
        == answers["staff photo"].headers["cache-control"]
    )


def test_behind_https_every_cookie_is_secure_and_hsts_is_sent(make_client):
    def https_client(**overrides):
        client = make_client(public_base_url=HTTPS_URL, **overrides)
        client.base_url = "https://127.0.0.1:8000"  # so the client sends Secure cookies back
        seen = []
        client.event_hooks["response"].append(lambda response: seen.append(response))
        return client, seen

    citizen, citizen_answers = https_client()
    register(citizen)
    citizen.get("/bahasa/en?next=/", follow_redirects=False)
    citizen.get("/laporan")
    post_form(citizen, "/keluar", {}, follow_redirects=False)
    staff, staff_answers = https_client()
    make_staff(staff, "operator")
    staff_sign_in(staff, "operator-kota")
    staff.get("/operator")

    cookies = {}
    for response in citizen_answers + staff_answers:
        assert_protected(response, f"{response.request.url} (https)", https=True)
        for cookie in response.headers.get_list("set-cookie"):
            name = cookie.split("=", 1)[0]
            attributes = [part.strip().lower() for part in cookie.split(";")[1:]]
            assert "secure" in attributes, cookie
            cookies[name] = cookie
    assert {"__Host-session", "__Host-csrftoken", "bahasa"} <= set(cookies)
    # The language cookie keeps working: the next page is in English.
    assert soup(citizen.get("/")).html["lang"] == "en"

    # Plain http (development): no Secure flag, or the browser would drop the cookies.
    plain = make_client()
    plain.get("/bahasa/en", follow_redirects=False)
    response = plain.get("/bahasa/id", follow_redirects=False)
    for cookie in response.headers.get_list("set-cookie"):
        assert "secure" not in cookie.lower(), cookie


def test_map_tiles_are_the_only_outside_images(make_client):
    client = make_client(map_tile_url="https://{s}.tiles.example.org/{z}/{x}/{y}.png")
    images = directives(client.get("/").headers["content-security-policy"])["img-src"]
    assert set(images) == {"'self'", "data:", "blob:", "https://*.tiles.example.org"}
    default = directives(make_client().get("/").headers["content-security-policy"])["img-src"]
    assert "https://tile.openstreetmap.org" in default


def test_no_template_has_inline_scripts_or_handlers():
    """The CSP would block them in the browser; this says where, before a browser test does."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    offenders = []
    for template in [*root.glob("web/templates/**/*.html"), *root.glob("components/*.html")]:
        text = template.read_text()
        for pattern in (
            r"<script(?![^>]*\bsrc=)[^>]*>",
            r"\son[a-z]+\s*=",
            r"\sstyle\s*=",
            "<style",
        ):
            if re.search(pattern, text, flags=re.IGNORECASE):
                offenders.append(f"{template.relative_to(root)}: {pattern}")
    assert offenders == []
