"""The ticket lifecycle over HTTP, with the real database, as operators, OPD staff and citizens do it."""

from __future__ import annotations

from db.tables import AuditLog, Complaint, Opd
from tests.factories import HTMX, complaint_form, operator_act, photo_files, version_of
from tests.helpers import db, post_form, register, soup
from tests.html import has, select, text_of, texts_of
from tests.images import png_bytes
from tests.staff_helpers import make_staff, staff_sign_in


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
    assert has(page, "html") and has(page, f'.ticket-row[data-number="{number}"]')
    rows = operator.get("/operator?status=received", headers={**HTMX, "HX-Target": "inbox-rows"})
    assert not has(rows, "html") and has(rows, f'.ticket-row[data-number="{number}"]')
    assert "HX-Request" in rows.headers["vary"]
    assert (
        number
        not in operator.get(
            "/operator?status=closed", headers={**HTMX, "HX-Target": "inbox-rows"}
        ).text
    )
    row = f'.ticket-row[data-number="{number}"]'
    assert has(operator.get("/operator?q=retak"), row)
    assert has(operator.get(f"/operator?q={number.lower()}"), row)

    detail = operator.get(f"/operator/tiket/{number}", headers={**HTMX, "HX-Target": "detail"})
    assert not has(detail, "html")
    # Operators see who reported (they may need to call back).
    assert text_of(detail, ".reporter").startswith("Rahmat Hidayat")
    pupr = db(operator, lambda: Opd.select(Opd.id).where(Opd.slug == "pupr").first())["id"]
    assert soup(detail).select("select[name=opd]") == []  # dispatch comes after verification

    verified = operator_act(operator, number, "verify")
    assert text_of(verified, ".ticket-detail .badge-verified") == "Diverifikasi"
    # Dispatch offers the category's default OPD first (roads -> Dinas PUPR).
    assert soup(verified).select_one("select[name=opd] option[selected]")["value"] == str(pupr)
    stale = post_form(
        operator,
        f"/operator/tiket/{number}/aksi",
        {"action": "dispatch", "version": "1", "opd": pupr},
        headers_extra={**HTMX, "HX-Target": "detail"},
    )
    assert "baru saja diubah oleh Operator" in text_of(stale, ".notice-error")
    dispatched = operator_act(operator, number, "dispatch", opd=str(pupr))
    assert text_of(dispatched, ".ticket-detail .badge-dispatched") == "Didisposisikan"
    assert dispatched.headers.get("hx-trigger") == "ticket-changed"
    ticket = db(operator, lambda: Complaint.select().where(Complaint.number == number).first())
    assert ticket["opd"] == pupr and ticket["sla_due_at"] is not None
    assert (ticket["sla_due_at"] - ticket["sla_started_at"]).total_seconds() == 72 * 3600

    opd = make_client()
    make_staff(opd, "opd_staff", opd_slug="pupr")
    staff_sign_in(opd, "opd_staff-pupr")
    queue = opd.get("/opd")
    card = next(c for c in select(queue, ".ticket-card") if text_of(c, ".ticket-number") == number)
    assert text_of(card, ".sla-on_time") == "Tepat waktu"
    opd_page = opd.get(f"/opd/tiket/{number}")
    assert "Rahmat Hidayat" not in opd_page.text  # anonymous: hidden from the OPD
    assert text_of(opd_page, ".reporter").startswith("Disembunyikan")
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
    assert refused.status_code == 409 and "Tulis" in text_of(refused, ".notice-error")
    assert opd_act(opd, number, "resolve", note="Perbaikan selesai.").url.path == "/opd"

    closed = operator_act(operator, number, "close")
    assert text_of(closed, ".ticket-detail .badge-closed") == "Selesai"

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
    assert reopened.status_code == 200
    assert text_of(reopened, ".badge-reopened") == "Dibuka kembali"
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
    assert "Apakah masalahnya sudah selesai?" in texts_of(page, "h2")
    confirmed = post_form(
        citizen,
        f"/laporan/{number}/aksi",
        {"action": "confirm", "version": version_of(citizen, number)},
    )
    assert "Selesai (dikonfirmasi pelapor)" in texts_of(confirmed, ".timeline-item strong")
    rated = post_form(
        citizen, f"/laporan/{number}/nilai", {"rating": "5", "comment": "Cepat sekali"}
    )
    assert "Penilaian Anda: 5 dari 5." in texts_of(rated, "p")
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
    assert all(" m · " in t for t in texts_of(detail, "select[name=duplicate_of] option"))
    marked = operator_act(operator, second, "mark_duplicate", duplicate_of=first)
    assert text_of(marked, ".ticket-detail .badge-duplicate") == "Duplikat"
    assert first in texts_of(marked, ".details dd")

    no_reason = operator_act(operator, prank, "reject", reason_code="prank", note="")
    assert "alasan" in soup(no_reason).select_one(".notice-error").get_text().lower()
    rejected = operator_act(
        operator,
        prank,
        "reject",
        reason_code="prank",
        note="Laporan uji coba, bukan masalah nyata.",
    )
    assert text_of(rejected, ".ticket-detail .badge-rejected") == "Ditolak"
    seen = citizen.get(f"/laporan/{prank}")
    assert any("bukan masalah nyata" in note for note in texts_of(seen, ".timeline-note"))

    supervisor = make_client()
    make_staff(supervisor, "supervisor")
    staff_sign_in(supervisor, "supervisor-kota")
    read_only = supervisor.get(f"/operator/tiket/{first}")
    assert read_only.status_code == 200
    assert soup(read_only).select(".action-form") == []
