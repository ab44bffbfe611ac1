"""The ticket lifecycle over HTTP, with the real database, as operators, OPD staff and citizens do it."""

from __future__ import annotations

from db.tables import AuditLog, Complaint, Opd
from tests.helpers import db, post_form, register, soup
from tests.images import png_bytes
from tests.staff_helpers import make_staff, staff_sign_in
from tests.test_complaints import complaint_form, photo_files

HTMX = {"HX-Request": "true"}


def version_of(client, number):
    return str(
        db(
            client,
            lambda: Complaint.select(Complaint.version).where(Complaint.number == number).first(),
        )["version"]
    )


def operator_act(client, number, action, **fields):
    data = {"action": action, "version": version_of(client, number), **fields}
    return post_form(
        client,
        f"/operator/tiket/{number}/aksi",
        data,
        headers_extra={**HTMX, "HX-Target": "detail"},
    )


def opd_act(client, number, action, files=None, **fields):
    data = {"action": action, "version": version_of(client, number), **fields}
    return post_form(client, f"/opd/tiket/{number}/aksi", data, files=files)


def test_complaint_goes_from_citizen_to_opd_and_back(make_client):
    citizen = make_client()
    register(citizen, name="Rahmat Hidayat")
    filed = post_form(
        citizen,
        "/lapor",
        complaint_form(title="Jalan retak di Jl. Sudirman", privacy="anonymous"),
        files=photo_files(png_bytes()),
    )
    number = filed.url.path.rsplit("/", 1)[1]

    operator = make_client()
    make_staff(operator, "operator")
    staff_sign_in(operator, "operator-kota")
    # The inbox: the whole page, or only the rows for htmx, at the same URL.
    page = operator.get("/operator")
    assert "<html" in page.text and number in page.text
    rows = operator.get("/operator?status=received", headers={**HTMX, "HX-Target": "inbox-rows"})
    assert "<html" not in rows.text and number in rows.text
    assert "HX-Request" in rows.headers["vary"]
    assert (
        number
        not in operator.get(
            "/operator?status=closed", headers={**HTMX, "HX-Target": "inbox-rows"}
        ).text
    )
    assert number in operator.get("/operator?q=retak").text
    assert number in operator.get(f"/operator?q={number.lower()}").text

    detail = operator.get(f"/operator/tiket/{number}", headers={**HTMX, "HX-Target": "detail"})
    assert "<html" not in detail.text
    assert (
        "Rahmat Hidayat" in detail.text
    )  # operators see who reported (they may need to call back)
    pupr = db(operator, lambda: Opd.select(Opd.id).where(Opd.slug == "pupr").first())["id"]
    assert soup(detail).select("select[name=opd]") == []  # dispatch comes after verification

    verified = operator_act(operator, number, "verify")
    assert "Diverifikasi" in verified.text
    # Dispatch offers the category's default OPD first (roads -> Dinas PUPR).
    assert soup(verified).select_one("select[name=opd] option[selected]")["value"] == str(pupr)
    stale = post_form(
        operator,
        f"/operator/tiket/{number}/aksi",
        {"action": "dispatch", "version": "1", "opd": pupr},
        headers_extra={**HTMX, "HX-Target": "detail"},
    )
    assert "baru saja diubah oleh Operator" in stale.text
    dispatched = operator_act(operator, number, "dispatch", opd=str(pupr))
    assert "Didisposisikan" in dispatched.text
    assert dispatched.headers.get("hx-trigger") == "ticket-changed"
    ticket = db(operator, lambda: Complaint.select().where(Complaint.number == number).first())
    assert ticket["opd"] == pupr and ticket["sla_due_at"] is not None
    assert (ticket["sla_due_at"] - ticket["sla_started_at"]).total_seconds() == 72 * 3600

    opd = make_client()
    make_staff(opd, "opd_staff", opd_slug="pupr")
    staff_sign_in(opd, "opd_staff-pupr")
    queue = opd.get("/opd")
    assert number in queue.text and "Tepat waktu" in queue.text
    opd_page = opd.get(f"/opd/tiket/{number}")
    assert "Rahmat Hidayat" not in opd_page.text  # anonymous: hidden from the OPD
    assert "Disembunyikan" in opd_page.text
    assert opd_act(opd, number, "start").status_code == 200
    assert (
        opd_act(
            opd, number, "add_note", note="Perlu alat berat, koordinasi dengan UPT."
        ).status_code
        == 200
    )
    replied = opd_act(
        opd,
        number,
        "follow_up",
        note="Tim sudah menambal jalan pagi ini.",
        files=photo_files(png_bytes(), png_bytes()),
    )
    assert replied.status_code == 200
    refused = opd_act(opd, number, "resolve", note="")
    assert refused.status_code == 409 and "Tulis" in refused.text
    assert opd_act(opd, number, "resolve", note="Perbaikan selesai.").url.path == "/opd"

    assert "Selesai" in operator_act(operator, number, "close").text

    seen = citizen.get(f"/laporan/{number}")
    text = soup(seen).get_text(" ")
    for step in (
        "Laporan diterima",
        "Diverifikasi operator",
        "Didisposisikan ke OPD",
        "Mulai ditangani OPD",
        "Tim sudah menambal jalan pagi ini.",
        "Diselesaikan OPD",
        "Selesai (diverifikasi operator)",
    ):
        assert step in text, step
    assert "alat berat" not in text  # internal notes never reach the citizen
    proof = soup(seen).select(".timeline .photo-grid img")
    assert len(proof) == 2
    assert citizen.get(proof[0]["src"]).status_code == 200

    reopened = post_form(
        citizen,
        f"/laporan/{number}/aksi",
        {
            "action": "reopen",
            "version": version_of(citizen, number),
            "note": "Masih berlubang di sisi kiri.",
        },
    )
    assert reopened.status_code == 200 and "Dibuka kembali" in reopened.text
    rated = post_form(citizen, f"/laporan/{number}/nilai", {"rating": "4"})
    assert rated.status_code == 400  # only once the OPD has resolved it again

    actions = {row["action"] for row in db(citizen, lambda: AuditLog.select(AuditLog.action))}
    assert {
        "complaint.verify",
        "complaint.dispatch",
        "complaint.start",
        "complaint.follow_up",
        "complaint.resolve",
        "complaint.close",
        "complaint.reopen",
        "complaint.add_note",
    } <= actions


def test_citizen_confirms_and_rates(make_client):
    citizen = make_client()
    register(citizen)
    number = post_form(citizen, "/lapor", complaint_form()).url.path.rsplit("/", 1)[1]

    async def through_to_resolved():
        from web.workflow.service import Actor, act

        pupr = (await Opd.select(Opd.id).where(Opd.slug == "pupr").first())["id"]
        op = Actor(kind="system", id=None, role="operator")
        await act(number, "verify", op, expected_version=1)
        await act(number, "dispatch", op, expected_version=2, opd_id=pupr)
        await act(
            number,
            "resolve",
            Actor(kind="system", id=None, role="opd_staff", opd_id=pupr),
            expected_version=3,
            note="Sudah diperbaiki.",
        )

    db(citizen, through_to_resolved)
    page = citizen.get(f"/laporan/{number}")
    assert "Apakah masalahnya sudah selesai?" in page.text
    confirmed = post_form(
        citizen,
        f"/laporan/{number}/aksi",
        {"action": "confirm", "version": version_of(citizen, number)},
    )
    assert "Selesai (dikonfirmasi pelapor)" in confirmed.text
    rated = post_form(
        citizen, f"/laporan/{number}/nilai", {"rating": "5", "comment": "Cepat sekali"}
    )
    assert "Penilaian Anda: 5 dari 5" in rated.text
    assert db(citizen, lambda: Complaint.select(Complaint.rating).first())["rating"] == 5


def test_reject_and_duplicate_with_nearby_candidates(make_client):
    citizen = make_client()
    register(citizen)
    first = post_form(
        citizen, "/lapor", complaint_form(title="Lubang besar dekat pasar")
    ).url.path.rsplit("/", 1)[1]
    nearby = complaint_form(
        title="Jalan berlubang di pasar", latitude="-6.0030", longitude="106.0443"
    )
    second = post_form(citizen, "/lapor", nearby).url.path.rsplit("/", 1)[1]
    prank = post_form(citizen, "/lapor", complaint_form(title="Tes tes tes saja")).url.path.rsplit(
        "/", 1
    )[1]

    operator = make_client()
    make_staff(operator, "operator")
    staff_sign_in(operator, "operator-kota")
    detail = operator.get(f"/operator/tiket/{second}", headers={**HTMX, "HX-Target": "detail"})
    candidates = [o["value"] for o in soup(detail).select("select[name=duplicate_of] option")]
    assert first in candidates and prank in candidates  # same category, about 100 m apart
    assert "m ·" in detail.text
    marked = operator_act(operator, second, "mark_duplicate", duplicate_of=first)
    assert "Duplikat" in marked.text and first in marked.text

    no_reason = operator_act(operator, prank, "reject", reason_code="prank", note="")
    assert "alasan" in soup(no_reason).select_one(".notice-error").get_text().lower()
    rejected = operator_act(
        operator,
        prank,
        "reject",
        reason_code="prank",
        note="Laporan uji coba, bukan masalah nyata.",
    )
    assert "Ditolak" in rejected.text
    seen = citizen.get(f"/laporan/{prank}").text
    assert "bukan masalah nyata" in seen

    supervisor = make_client()
    make_staff(supervisor, "supervisor")
    staff_sign_in(supervisor, "supervisor-kota")
    read_only = supervisor.get(f"/operator/tiket/{first}")
    assert read_only.status_code == 200
    assert soup(read_only).select(".action-form") == []
