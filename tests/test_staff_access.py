"""Authorization as a matrix: every staff route × every role (+ signed out, + a citizen).

The routes come from the running app, so a new staff route is covered the moment it exists.
"""

from __future__ import annotations

from db.tables import Complaint
from tests.helpers import app_routes, db, post_form
from tests.html import text_of
from tests.staff_helpers import make_staff, staff_sign_in

ROLES = ("operator", "opd_staff", "supervisor", "admin")
STAFF_PREFIXES = ("/operator", "/opd", "/staf/foto", "/admin", "/pimpinan")


def fill(path: str, ticket: dict) -> str:
    return (
        path.replace("{number:str}", ticket["number"])
        .replace("{photo_id:str}", str(ticket["photo_id"]))
        .replace("{staff_id:str}", "999999")
        .replace("{category_id:str}", "1")
        .replace("{key_id:str}", "999999")
    )


def test_every_staff_path_declares_its_roles(client):
    for method, path, handler in app_routes(client.app):
        if path.startswith(STAFF_PREFIXES):
            assert "roles" in handler.opt, f"{method} {path} has no role list"


def test_authorization_matrix(make_client, dispatched_ticket):
    clients = {}
    for role in ROLES:
        client = make_client()
        make_staff(client, role, opd_slug="pupr" if role == "opd_staff" else None)
        staff_sign_in(client, f"{role}-{'pupr' if role == 'opd_staff' else 'kota'}")
        clients[role] = client
    clients["signed out"] = make_client()
    clients["citizen"] = dispatched_ticket["citizen"]

    checked = 0
    for method, path, handler in app_routes(clients["operator"].app):
        roles = handler.opt.get("roles")
        if roles is None:
            continue
        url = fill(path, dispatched_ticket)
        for who, client in clients.items():
            version = db(client, lambda: Complaint.select(Complaint.version).first())["version"]
            if method == "GET":
                response = client.get(url, follow_redirects=False)
            else:
                response = post_form(
                    client,
                    url,
                    {"action": "add_note", "version": str(version), "note": "cek akses"},
                    follow_redirects=False,
                )
            if who in ("signed out", "citizen"):
                assert response.status_code == 303, (who, method, url)
                assert response.headers["location"].startswith("/staf/masuk")
            elif who in roles:
                # Admitted: whatever the placeholder body earns (a page, a redirect, a validation
                # error), never a refusal or a trip to the sign-in page.
                status = response.status_code
                assert status in (200, 303, 400, 409), (who, method, url, status)
                assert not response.headers.get("location", "").startswith("/staf/masuk")
            else:
                assert response.status_code == 403, (who, method, url, response.status_code)
            checked += 1
    assert checked >= 8 * 6


# Who may open each report page (the matrix above checks that the guard enforces what is declared;
# this pins down what is declared).
REPORT_ROLES = {
    "/pimpinan/laporan": {"supervisor", "admin"},
    "/pimpinan/laporan/cetak": {"supervisor", "admin"},
    "/pimpinan/laporan.csv": {"supervisor", "admin"},
    "/pimpinan/laporan.xlsx": {"supervisor", "admin"},
    "/operator/laporan-shift": {"operator", "supervisor", "admin"},
    "/opd/laporan": {"opd_staff", "supervisor", "admin"},
}


def test_report_pages_admit_the_intended_roles(make_client):
    clients = {}
    for role in ROLES:
        client = make_client()
        make_staff(client, role, opd_slug="pupr" if role == "opd_staff" else None)
        staff_sign_in(client, f"{role}-{'pupr' if role == 'opd_staff' else 'kota'}")
        clients[role] = client
    declared = {
        path: set(handler.opt["roles"])
        for _, path, handler in app_routes(clients["admin"].app)
        if path in REPORT_ROLES
    }
    assert declared == REPORT_ROLES
    for path, admitted in REPORT_ROLES.items():
        for role, client in clients.items():
            status = client.get(path, follow_redirects=False).status_code
            assert status == (200 if role in admitted else 403), (role, path, status)
    # The public page needs nobody.
    signed_out = make_client()
    assert signed_out.get("/transparansi", follow_redirects=False).status_code == 200
    assert signed_out.get("/transparansi/peta.json").status_code == 200
    assert signed_out.get("/pimpinan/laporan", follow_redirects=False).status_code == 303


def test_opd_staff_see_only_their_own_agency(make_client, dispatched_ticket):
    other = make_client()
    make_staff(other, "opd_staff", opd_slug="dlh")
    staff_sign_in(other, "opd_staff-dlh")
    assert other.get(f"/opd/tiket/{dispatched_ticket['number']}").status_code == 404
    assert other.get(f"/staf/foto/{dispatched_ticket['photo_id']}").status_code == 404
    assert dispatched_ticket["number"] not in other.get("/opd").text


def test_staff_sign_in_is_rate_limited_and_idle_sessions_expire(make_client):
    client = make_client(staff_login_max_failures=3)
    make_staff(client, "operator")
    for _ in range(3):
        response = post_form(
            client, "/staf/masuk", {"username": "operator-kota", "password": "salah"}
        )
        assert response.status_code == 400
        assert "salah" in text_of(response, "#form-errors")
    blocked = post_form(
        client, "/staf/masuk", {"username": "operator-kota", "password": "kata-sandi-uji-123"}
    )
    assert blocked.status_code == 400
    assert "Terlalu banyak percobaan" in text_of(blocked, "#form-errors")

    idle = make_client(staff_idle_minutes=0)
    make_staff(idle, "supervisor")
    staff_sign_in(idle, "supervisor-kota")
    response = idle.get("/operator", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/staf/masuk")
