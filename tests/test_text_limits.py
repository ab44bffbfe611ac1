"""Long text and NUL bytes: refused whole with a message that keeps what was typed, never cut, never
half-saved; and a ticket takes one rating, even from parallel posts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from db.tables import CallLog, Complaint, StaffUser, TimelineEvent
from tests.factories import complaint_form, operator_act, version_of
from tests.helpers import csrf, db, form_value, post_form, register, soup
from tests.html import text_of
from tests.staff_helpers import make_staff, staff_sign_in
from web.forms import MAX_LENGTH
from web.workflow.service import Actor, act


def operator(make_client, role="operator"):
    client = make_client()
    make_staff(client, role)
    staff_sign_in(client, f"{role}-kota")
    return client


def events(client) -> int:
    return db(client, lambda: TimelineEvent.count())


def resolved_ticket(client) -> str:
    """A ticket the signed-in citizen filed, taken through to resolved by the OPD."""
    number = post_form(client, "/lapor", complaint_form()).url.path.rsplit("/", 1)[1]

    async def through():
        from db.tables import Opd

        pupr = (await Opd.select(Opd.id).where(Opd.slug == "pupr").first())["id"]
        op = Actor(kind="system", id=None, role="operator")
        await act(number, "verify", op, expected_version=1)
        await act(number, "dispatch", op, expected_version=2, opd_id=pupr)
        opd = Actor(kind="system", id=None, role="opd_staff", opd_id=pupr)
        await act(number, "resolve", opd, expected_version=3, note="Sudah diperbaiki.")

    db(client, through)
    return number


def test_a_reopen_note_over_the_maximum_is_refused_and_kept(make_client):
    citizen = make_client()
    register(citizen)
    number = resolved_ticket(citizen)
    before = events(citizen)
    note = "Masih rusak. " * 80_000  # about 1 MB: it used to be stored whole
    response = post_form(
        citizen,
        f"/laporan/{number}/aksi",
        {"action": "reopen", "version": version_of(citizen, number), "note": note},
    )
    assert response.status_code == 409
    assert "terlalu panjang" in soup(response).select_one("[role=alert]").get_text()
    assert form_value(response, "note") == note
    assert events(citizen) == before
    status = db(citizen, lambda: Complaint.select(Complaint.status).first())["status"]
    assert status == "resolved"
    # At the maximum it goes through.
    ok = post_form(
        citizen,
        f"/laporan/{number}/aksi",
        {
            "action": "reopen",
            "version": version_of(citizen, number),
            "note": "x" * MAX_LENGTH["note"],
        },
    )
    assert ok.status_code == 200 and events(citizen) == before + 1


def test_a_112_note_over_the_maximum_is_refused_not_cut(make_client):
    client = operator(make_client)
    note = "Penelepon melaporkan kebakaran. " * 35_000  # about 1 MB: it used to be cut to 2,000
    response = post_form(client, "/operator/112", {"kind": "normal", "note": note})
    assert response.status_code == 400
    assert "terlalu panjang" in soup(response).find(id="note-error").get_text()
    assert form_value(response, "note") == note
    assert db(client, lambda: CallLog.count()) == 0


def test_intake_caller_fields_over_the_maximum_are_refused_not_cut(make_client):
    client = operator(make_client)
    form = complaint_form(
        channel="phone", reporter_name="Ibu " + "Sari" * 40, reporter_contact="0812 5555 6666"
    )
    response = post_form(client, "/operator/baru", form)
    assert response.status_code == 400
    assert "terlalu panjang" in soup(response).find(id="form-errors").get_text()
    assert form_value(response, "reporter_name") == form["reporter_name"]
    assert db(client, lambda: Complaint.count()) == 0


def test_nul_bytes_are_refused_with_a_message_on_every_engine(make_client):
    citizen = make_client()
    register(citizen)
    filed = post_form(citizen, "/lapor", complaint_form(title="Jalan\x00 berlubang besar"))
    assert filed.status_code == 400
    assert "tidak diizinkan" in soup(filed).find(id="form-errors").get_text()
    assert form_value(filed, "description") == complaint_form()["description"]
    assert db(citizen, lambda: Complaint.count()) == 0

    number = post_form(citizen, "/lapor", complaint_form()).url.path.rsplit("/", 1)[1]
    staff = operator(make_client)
    before = events(staff)
    noted = operator_act(staff, number, "add_note", note="cek\x00 lokasi")
    assert "tidak diizinkan" in text_of(noted, ".notice-error")
    dup = operator_act(staff, number, "mark_duplicate", duplicate_of="CLG\x00")
    assert dup.status_code == 200 and "tidak diizinkan" in text_of(dup, ".notice-error")
    assert events(staff) == before

    calls = post_form(staff, "/operator/112", {"kind": "normal", "note": "a\x00b"})
    assert calls.status_code == 400 and db(staff, lambda: CallLog.count()) == 0

    # Sign-in with a NUL or a very long user name is a refusal, not a server error.
    anonymous = make_client()
    for username in ("admin\x00", "a" * 100):
        response = post_form(anonymous, "/staf/masuk", {"username": username, "password": "x"})
        assert response.status_code == 400

    admin = operator(make_client, "admin")
    created = post_form(
        admin,
        "/admin/staf",
        {"username": "petugas-baru", "name": "N" * 500, "role": "operator", "password": "p" * 12},
    )
    assert created.status_code == 400
    assert (
        db(admin, lambda: StaffUser.exists().where(StaffUser.username == "petugas-baru")) is False
    )

    # In the address: a clear 400, never a database error.
    assert staff.get("/operator/tiket/%00").status_code == 400
    assert staff.get("/operator?q=%00").status_code == 400


def test_a_ticket_is_rated_once_even_by_parallel_posts(make_client):
    citizen = make_client()
    register(citizen)
    number = resolved_ticket(citizen)
    before = events(citizen)

    def rate(stars: int):
        return post_form(
            citizen, f"/laporan/{number}/nilai", {"rating": str(stars), "comment": f"nilai {stars}"}
        ).status_code

    with ThreadPoolExecutor(max_workers=5) as pool:
        statuses = list(pool.map(rate, range(1, 6)))
    assert sorted(statuses) == [200, 400, 400, 400, 400]
    assert events(citizen) == before + 1
    stored = db(
        citizen, lambda: Complaint.select(Complaint.rating, Complaint.rating_comment).first()
    )
    assert stored["rating_comment"] == f"nilai {stored['rating']}"

    again = post_form(citizen, f"/laporan/{number}/nilai", {"rating": "1", "comment": "ubah"})
    assert again.status_code == 400
    assert "sudah Anda nilai" in text_of(again, ".notice-error")
    assert (
        db(citizen, lambda: Complaint.select(Complaint.rating).first())["rating"]
        == stored["rating"]
    )
    assert events(citizen) == before + 1
    # The page shows the rating; no form invites a second one.
    page = soup(citizen.get(f"/laporan/{number}"))
    assert page.select_one(f'form[action="/laporan/{number}/nilai"]') is None


def test_a_long_rating_comment_is_refused_and_kept(make_client):
    citizen = make_client()
    register(citizen)
    number = resolved_ticket(citizen)
    comment = "bagus " * 1000
    response = post_form(citizen, f"/laporan/{number}/nilai", {"rating": "4", "comment": comment})
    assert response.status_code == 400 and "terlalu panjang" in text_of(response, ".notice-error")
    assert form_value(response, "comment") == comment
    assert db(citizen, lambda: Complaint.select(Complaint.rating).first())["rating"] is None


def test_a_nul_byte_in_a_push_endpoint_is_no_server_error(make_client):
    citizen = make_client()
    register(citizen)
    gone = citizen.post(
        "/notifikasi/langganan/hapus",
        json={"endpoint": "https://push.example/\x00"},
        headers={"x-csrftoken": csrf(citizen)},
    )
    assert gone.status_code == 201 and gone.json() == {"removed": False}
    out = post_form(citizen, "/keluar", {"push_endpoint": "https://push.example/\x00"})
    assert out.status_code == 200
