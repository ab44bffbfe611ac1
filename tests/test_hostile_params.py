"""Hostile parameters: every route of the running app, as every role, with values an attacker (or a
typo) sends. Whatever comes back, it is never a server error.

The routes come from the app's route table and the query/form field names from handler signatures
and the templates, so a new route or field is covered the moment it exists.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.helpers import app_routes, csrf
from tests.staff_helpers import make_staff, staff_sign_in

HOSTILE = (
    "\x00",  # first: signing out (last in the walk) still has a session to act on
    "99999999999999999999",
    "-1",
    "0",
    "²",
    "١٢",
    "%",
    "_",
    "0001-01-01",
    "9999-12-31",
    "",
    "x" * 10_000,
    "0001-01-01T00:00:00+01:00|1",  # an SLA cursor (due time|id) at the ends of the calendar
)
# The values that used to crash a parser; each query parameter gets them on its own as well.
CRASHERS = (
    "99999999999999999999",
    "0001-01-01",
    "9999-12-31",
    "\x00",
    "0001-01-01T00:00:00+01:00|1",
    "9999-12-31T23:59:59-01:00|1",
)
COMMON_QUERY = (
    "sebelum",
    "setelah",
    "halaman",
    "dari",
    "sampai",
    "tanggal",
    "q",
    "status",
    "id",
    "next",
    "opd",
    "shift",
    "terkirim",
    "langsung",
)
NOT_QUERY = {"request", "data", "citizen_id", "state", "scope"}
ROOT = Path(__file__).resolve().parent.parent


def form_fields() -> set[str]:
    """Every form field name in the templates, plus the ones macros name through a variable."""
    names = set()
    for folder in ("web/templates", "components"):
        for path in (ROOT / folder).rglob("*.html"):
            names |= set(re.findall(r'name="([a-z_]+)"', path.read_text()))
    return names | {
        "title",
        "description",
        "nik",
        "name",
        "phone",
        "code",
        "username",
        "privacy",
        "reporter_name",
        "reporter_contact",
        "endpoint",
    }


def path_params(path: str) -> list[str]:
    return re.findall(r"{(\w+):\w+}", path)


def fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"{(\w+):\w+}", lambda m: values[m.group(1)], path)


@pytest.fixture
def clients(make_client, dispatched_ticket):
    found = {"anonymous": make_client(), "citizen": dispatched_ticket["citizen"]}
    for role in ("operator", "opd_staff", "supervisor", "admin"):
        client = make_client()
        make_staff(client, role, opd_slug="pupr" if role == "opd_staff" else None)
        staff_sign_in(client, f"{role}-{'pupr' if role == 'opd_staff' else 'kota'}")
        found[role] = client
    spare = make_staff(found["admin"], "operator", username="cadangan")
    valid = {
        "number": dispatched_ticket["number"],
        "photo_id": str(dispatched_ticket["photo_id"]),
        "staff_id": str(spare["id"]),  # never the signed-in admin: an action could lock it out
        "category_id": "1",
        "device_id": "1",
        "locale": "id",
        "path": "app.css",
        "service_file": "jalan-rusak.json",
        "request_file": f"{dispatched_ticket['number']}.json",
        "key_id": "1",  # an API key (/admin/kunci-api/{key_id}/cabut)
        "token": "00000000-0000-0000-0000-000000000000.json",  # /open311/v2/tokens/{token}
    }
    return found, valid


def who_may_call(handler, clients: dict) -> list[str]:
    roles = handler.opt.get("roles")
    if roles is None:  # public or citizen pages; /notifikasi also serves staff
        staff_too = any(path.startswith("/notifikasi") for path in handler.paths)
        return ["anonymous", "citizen"] + ["operator"] * staff_too
    return [role for role in clients if role in roles]


def test_no_route_answers_a_server_error_to_hostile_values(clients):
    clients, valid = clients
    app = clients["anonymous"].app
    fields = form_fields()
    # Signing out would end the walk for that client: those routes go last.
    table = sorted(app_routes(app), key=lambda r: ("keluar" in r[1], r[1], r[0]))
    failures = []
    sent = 0

    def call(client, method, url, params=None, data=None):
        nonlocal sent
        sent += 1
        if method == "GET":
            response = client.get(url, params=params, follow_redirects=False)
        else:
            response = client.post(
                url, data=data, headers={"x-csrftoken": csrf(client)}, follow_redirects=False
            )
        if response.status_code >= 500:
            values = sorted({v[:20] for v in (params or data or {}).values()})
            failures.append(
                f"{response.status_code} {method} {url[:100]} {values} {sorted(params or {})}"
            )

    for method, path, handler in table:
        names = path_params(path)
        signature = set(handler.parsed_fn_signature.parameters) - NOT_QUERY - set(names)
        query_names = sorted(set(COMMON_QUERY) | signature)
        callers = who_may_call(handler, clients)
        for who in callers:
            client = clients[who]
            # Every value for the first role; the others get the ones that used to crash.
            for value in HOSTILE if who == callers[0] else CRASHERS:
                for name in names:  # one path parameter hostile, the others valid
                    url = fill(path, {**valid, name: quote(value, safe="") or "%20"})
                    call(client, method, url)
                url = fill(path, valid)
                if method == "GET":
                    # httpx caps a URL at 64 kB: all parameters at once share 60,000 characters
                    cut = value[: 60_000 // len(query_names)]
                    call(client, method, url, params=dict.fromkeys(query_names, cut))
                else:
                    call(client, method, url, data=dict.fromkeys(fields, value))
            if method == "GET" and who == callers[-1]:
                for name in query_names:
                    for value in CRASHERS:
                        call(client, method, fill(path, valid), params={name: value})
                        # Lists sorted by SLA read their cursor another way.
                        call(client, method, fill(path, valid), params={"urut": "sla", name: value})
    assert not failures, "\n".join(failures)
    assert sent > 1000


def test_no_openapi_listing_of_the_routes(client):
    for path in ("/schema", "/schema/openapi.json", "/schema/swagger", "/schema/redoc"):
        assert client.get(path).status_code == 404, path
