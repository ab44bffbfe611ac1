"""Administration: staff accounts and category routing / SLA, changed through the admin pages."""

from __future__ import annotations

from db.tables import AuditLog, Category, Complaint, Opd, StaffUser
from tests.factories import complaint_form
from tests.helpers import db, post_form, register, soup
from tests.html import has
from tests.staff_helpers import make_staff, staff_sign_in


def admin_client(make_client):
    client = make_client()
    make_staff(client, "admin")
    staff_sign_in(client, "admin-kota")
    return client


def test_admin_creates_deactivates_and_resets_staff(make_client):
    admin = admin_client(make_client)
    dlh = db(admin, lambda: Opd.select(Opd.id).where(Opd.slug == "dlh").first())["id"]
    bad = post_form(
        admin,
        "/admin/staf",
        {"username": "x", "name": "", "role": "opd_staff", "opd": "", "password": "123"},
    )
    assert bad.status_code == 400
    text = soup(bad).find(id="form-errors").get_text()
    assert "Nama pengguna" in text and "OPD" in text and "minimal 10" in text

    created = post_form(
        admin,
        "/admin/staf",
        {
            "username": "sri.dlh",
            "name": "Sri Wahyuni",
            "role": "opd_staff",
            "opd": str(dlh),
            "password": "rahasia-sekali-123",
        },
    )
    assert created.status_code == 200 and has(created, 'tr[data-username="sri.dlh"]')
    new_staff = make_client()
    signed_in = post_form(
        new_staff, "/staf/masuk", {"username": "sri.dlh", "password": "rahasia-sekali-123"}
    )
    assert signed_in.url.path == "/opd"

    staff_id = db(
        admin, lambda: StaffUser.select(StaffUser.id).where(StaffUser.username == "sri.dlh").first()
    )["id"]
    post_form(admin, f"/admin/staf/{staff_id}", {"action": "deactivate"})
    # A deactivated account is out at once, even with a live session.
    assert new_staff.get("/opd", follow_redirects=False).status_code == 303
    again = post_form(
        make_client(), "/staf/masuk", {"username": "sri.dlh", "password": "rahasia-sekali-123"}
    )
    assert again.status_code == 400

    post_form(admin, f"/admin/staf/{staff_id}", {"action": "activate"})
    post_form(
        admin,
        f"/admin/staf/{staff_id}",
        {"action": "password", "password": "sandi-baru-yang-panjang"},
    )
    fresh = post_form(
        make_client(), "/staf/masuk", {"username": "sri.dlh", "password": "sandi-baru-yang-panjang"}
    )
    assert fresh.url.path == "/opd"
    actions = {r["action"] for r in db(admin, lambda: AuditLog.select(AuditLog.action))}
    assert {
        "staff.created",
        "staff.deactivated",
        "staff.activated",
        "staff.password_reset",
    } <= actions


def test_category_sla_and_default_opd_change_the_next_dispatch(make_client):
    admin = admin_client(make_client)
    category = db(admin, lambda: Category.select().where(Category.slug == "jalan-rusak").first())
    dlh = db(admin, lambda: Opd.select(Opd.id).where(Opd.slug == "dlh").first())["id"]
    refused = post_form(
        admin,
        f"/admin/kategori/{category['id']}",
        {"sla_hours": "0", "default_opd": str(dlh), "active": "1"},
    )
    assert refused.status_code == 400
    post_form(
        admin,
        f"/admin/kategori/{category['id']}",
        {"sla_hours": "24", "default_opd": str(dlh), "active": "1"},
    )

    citizen = make_client()
    register(citizen)
    number = post_form(citizen, "/lapor", complaint_form()).url.path.rsplit("/", 1)[1]
    operator = make_client()
    make_staff(operator, "operator")
    staff_sign_in(operator, "operator-kota")

    def version():
        return str(db(operator, lambda: Complaint.select(Complaint.version).first())["version"])

    verified = post_form(
        operator, f"/operator/tiket/{number}/aksi", {"action": "verify", "version": version()}
    )
    assert soup(verified).select_one("select[name=opd] option[selected]")["value"] == str(dlh)
    post_form(
        operator,
        f"/operator/tiket/{number}/aksi",
        {"action": "dispatch", "version": version(), "opd": str(dlh)},
    )
    ticket = db(operator, lambda: Complaint.select().first())
    assert (ticket["sla_due_at"] - ticket["sla_started_at"]).total_seconds() == 24 * 3600
    # Restore the seeded value so other tests see the city file's SLA.
    post_form(
        admin,
        f"/admin/kategori/{category['id']}",
        {
            "sla_hours": str(category["sla_hours"]),
            "default_opd": str(category["default_opd"]),
            "active": "1",
        },
    )


def test_the_same_username_created_twice_at_once_is_a_form_error_not_a_crash(client):
    import asyncio

    from web.admin import service
    from web.forms import FormErrors

    values = {"username": "kembar", "name": "Petugas Kembar", "role": "operator"}
    values["password"] = "kata-sandi-yang-panjang-1"

    async def twice():
        return await asyncio.gather(
            service.create_staff(dict(values), admin_id=1),
            service.create_staff(dict(values), admin_id=1),
            return_exceptions=True,
        )

    results = db(client, twice)
    assert sorted(type(r).__name__ for r in results) == ["FormErrors", "int"], results
    refused = next(r for r in results if isinstance(r, FormErrors))
    assert "sudah dipakai" in refused.errors["username"]
    assert len(db(client, lambda: StaffUser.select().where(StaffUser.username == "kembar"))) == 1


def test_sla_hours_take_only_the_digits_0_to_9(make_client):
    """ "²".isdigit() is true and int("²") raises: once a server error. Every odd spelling of a
    number is refused with the form's message, the row keeps what was typed, nothing is saved."""
    admin = admin_client(make_client)
    category = db(admin, lambda: Category.select().where(Category.slug == "jalan-rusak").first())
    for typed in ("²", "١٢", "+5", " 5 ", "-1", "1" * 5000):
        refused = post_form(
            admin,
            f"/admin/kategori/{category['id']}",
            {"sla_hours": typed, "default_opd": str(category["default_opd"]), "active": "1"},
        )
        assert refused.status_code == 400, typed
        page = soup(refused)
        assert "SLA dalam jam, 1 sampai 720." in page.find(id="form-errors").get_text()
        row = page.select_one("#category-table tr[data-slug=jalan-rusak]")
        assert row.select_one("input[name=sla_hours]")["value"] == typed
        saved = db(admin, lambda: Category.select().where(Category.id == category["id"]).first())
        assert saved == category
    assert not db(admin, lambda: AuditLog.exists().where(AuditLog.action == "category.updated"))
