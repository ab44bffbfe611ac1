"""The authorization policy (web/staff/policy.py), and the routes and templates that ask it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from litestar import Litestar, get
from litestar.testing import TestClient

from tests.helpers import app_routes, soup
from tests.staff_helpers import make_staff, staff_sign_in
from web.staff.access import staff_router
from web.staff.policy import PERMISSIONS, ROLES, can, may_see, reporter_of

# The page each permission leads to: a template's ``can(staff, ...)`` shows the link exactly when
# that page admits the reader.
PERMISSION_PAGES = {
    "see_every_ticket": "/operator",
    "work_tickets": "/operator/baru",
    "reconcile_lapor": "/operator/lapor",
    "work_opd_queue": "/opd",
    "read_leaders_report": "/pimpinan/laporan",
    "administer": "/admin",
}


@dataclass(frozen=True)
class Someone:
    role: str
    id: int | None = None
    opd_id: int | None = None


def test_each_permission_is_the_role_set_of_its_page(client):
    declared = {
        path: set(handler.opt["roles"])
        for method, path, handler in app_routes(client.app)
        if method == "GET" and "roles" in handler.opt
    }
    assert PERMISSIONS.keys() == PERMISSION_PAGES.keys()
    for permission, path in PERMISSION_PAGES.items():
        assert set(PERMISSIONS[permission]) == declared[path], permission


def test_the_staff_menu_links_the_pages_of_the_role_and_no_other(make_client):
    get_roles = {
        path: handler.opt.get("roles")
        for method, path, handler in app_routes(make_client().app)
        if method == "GET"
    }
    for role in ROLES:
        client = make_client()
        opd_slug = "pupr" if role == "opd_staff" else None
        make_staff(client, role, opd_slug=opd_slug)
        staff_sign_in(client, f"{role}-{opd_slug or 'kota'}")
        page = client.get("/staf/notifikasi")
        assert page.status_code == 200
        links = {a["href"] for a in soup(page).select("nav a[href]")}
        for href in links:
            if get_roles.get(href) is not None:
                assert role in get_roles[href], (role, href)
        own_pages = {path for p, path in PERMISSION_PAGES.items() if role in PERMISSIONS[p]}
        assert own_pages <= links, (role, own_pages - links)


def test_a_staff_route_without_roles_is_refused_to_everyone():
    @get("/staf/lupa-peran", sync_to_thread=False)
    def forgotten() -> str:
        return "terbuka"

    with TestClient(Litestar(route_handlers=[staff_router(forgotten)])) as client:
        assert client.get("/staf/lupa-peran").status_code == 403


def test_can_answers_for_a_member_and_refuses_nobody_and_unknown_permissions():
    assert can(Someone("admin"), "administer")
    assert not can(Someone("supervisor"), "administer")
    assert not can(None, "see_every_ticket")
    with pytest.raises(KeyError):
        can(Someone("admin"), "adminster")


def test_who_may_see_a_ticket():
    ticket = {"citizen": 7, "opd": 3}
    assert may_see(ticket, Someone("citizen", id=7))
    assert not may_see(ticket, Someone("citizen", id=8))
    assert may_see(ticket, Someone("opd_staff", id=1, opd_id=3))
    assert not may_see(ticket, Someone("opd_staff", id=1, opd_id=4))
    assert not may_see({"citizen": 7, "opd": None}, Someone("opd_staff", id=1, opd_id=None))
    for role in ("operator", "supervisor", "admin", "system"):
        assert may_see(ticket, Someone(role)), role
    assert not may_see(ticket, Someone("stranger"))


def test_opd_staff_see_a_reporters_name_only_on_public_tickets():
    ticket = {
        "privacy": "public",
        "reporter_name": "",
        "citizen_name": "Siti",
        "reporter_contact": "",
        "citizen_phone": "+6281211112222",
    }
    assert reporter_of(ticket, "opd_staff") == {"name": "Siti", "contact": ""}
    assert reporter_of(ticket, "operator") == {"name": "Siti", "contact": "+6281211112222"}
    for privacy in ("anonymous", "confidential"):
        hidden = {**ticket, "privacy": privacy}
        assert reporter_of(hidden, "opd_staff") is None
        assert reporter_of(hidden, "supervisor") == {"name": "Siti", "contact": "+6281211112222"}
    caller = {**ticket, "reporter_name": "Budi", "reporter_contact": "0254-123"}
    assert reporter_of(caller, "admin") == {"name": "Budi", "contact": "0254-123"}
