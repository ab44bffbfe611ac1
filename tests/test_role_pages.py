"""Each role's pages over HTTP: the OPD ticket page (what it offers, what it confirms), staff error
pages in the staff layout, the citizen's confirmations, and category names in the page's language."""

from __future__ import annotations

from db.tables import Opd
from tests.factories import dispatch_to_pupr, file_ticket, version_of
from tests.helpers import db, post_form, register
from tests.html import has, select, text_of
from tests.staff_helpers import make_staff, staff_sign_in
from web.workflow.service import Actor, act


def _opd_act(client, number, action, **fields):
    data = {"action": action, "version": version_of(client, number), **fields}
    return post_form(client, f"/opd/tiket/{number}/aksi", data)


def _offered(page) -> set[str]:
    """The actions the page's forms would send (hidden inputs and buttons)."""
    return {tag["value"] for tag in select(page, "form [name=action]")}


def _staff(make_client, role, opd_slug=None):
    client = make_client()
    make_staff(client, role, opd_slug=opd_slug)
    staff_sign_in(client, f"{role}-{opd_slug or 'kota'}")
    return client


def _dispatched(make_client):
    citizen = make_client()
    register(citizen)
    number = file_ticket(citizen)
    dispatch_to_pupr(citizen, number)
    return citizen, number


def test_opd_ticket_page_offers_what_fits_the_status_and_confirms_each_action(make_client):
    _citizen, number = _dispatched(make_client)
    officer = _staff(make_client, "opd_staff", "pupr")

    page = officer.get(f"/opd/tiket/{number}")
    # Before "Mulai tangani": start it, or return it to the operators; nothing else.
    assert _offered(page) == {"start", "return_to_operator"}
    assert not has(page, "textarea#reply-note")
    assert text_of(page, "dd.category") == "Jalan rusak"
    deadline = select(page, "dd.deadline time")[0]
    assert deadline["datetime"].endswith("+07:00")  # the city's time (Asia/Jakarta)
    assert has(page, ".card .badge.sla-on_time")
    assert not has(page, "p.notice-ok[role=status]")

    started = _opd_act(officer, number, "start")
    assert started.url.path == f"/opd/tiket/{number}"
    assert number in text_of(started, "p.notice-ok[role=status]")
    assert _offered(started) == {"follow_up", "resolve", "return_to_operator"}

    followed = _opd_act(officer, number, "follow_up", note="Tim sudah ke lokasi.")
    assert "Tindak lanjut" in text_of(followed, "p.notice-ok[role=status]")
    assert not has(
        officer.get(f"/opd/tiket/{number}"), "p.notice-ok[role=status]"
    )  # said once, not kept

    resolved = _opd_act(officer, number, "resolve", note="Lubang sudah ditambal.")
    assert resolved.url.path == "/opd"
    notice = text_of(resolved, "p.notice-ok[role=status]")
    assert number in notice and "selesai" in notice
    # The notice names only something that looks like a ticket number.
    assert not has(officer.get("/opd?aksi=resolve&tiket=<b>Hadiah</b>"), "p.notice-ok[role=status]")
    assert not has(officer.get(f"/opd?aksi=bogus&tiket={number}"), "p.notice-ok[role=status]")


def test_returning_a_ticket_says_so_on_the_queue(make_client):
    _citizen, number = _dispatched(make_client)
    officer = _staff(make_client, "opd_staff", "pupr")
    returned = _opd_act(officer, number, "return_to_operator", note="Bukan wewenang PUPR.")
    assert returned.url.path == "/opd"
    assert text_of(returned, "p.notice-ok[role=status]") == (
        f"Tiket {number} dikembalikan ke operator."
    )


def _citizen_menu(page) -> bool:
    return has(page, "nav a[href='/laporan']")


def _staff_menu(page) -> bool:
    return has(page, "nav[aria-label='Menu petugas']")


def test_staff_error_pages_use_the_staff_layout_with_a_way_back(make_client):
    officer = _staff(make_client, "opd_staff", "pupr")
    for url in ("/opd/tiket/CLG-2099-999999", "/opd/tidak-ada", "/operator"):
        page = officer.get(url)
        assert page.status_code in (403, 404), url
        assert _staff_menu(page) and not _citizen_menu(page), url
        assert select(page, "a[data-staff-home]")[0]["href"] == "/opd", url
        assert text_of(page, "a[data-staff-home]") == "Kembali ke Antrean OPD"

    operator = _staff(make_client, "operator")
    page = operator.get("/pimpinan/laporan")  # leaders only: 403
    assert page.status_code == 403 and _staff_menu(page)
    assert select(page, "a[data-staff-home]")[0]["href"] == "/operator"
    page = operator.get("/bukan-halaman")  # signed in as staff anywhere: still their layout
    assert page.status_code == 404 and _staff_menu(page)

    nobody = make_client()
    page = nobody.get("/admin/tidak-ada")
    assert page.status_code == 404 and _staff_menu(page) and not _citizen_menu(page)
    assert has(page, "main a[href='/staf/masuk']")
    page = nobody.get("/bukan-halaman")
    assert page.status_code == 404 and _citizen_menu(page) and not _staff_menu(page)


def _resolve(client, number: str) -> None:
    async def resolve():
        pupr = (await Opd.select(Opd.id).where(Opd.slug == "pupr").first())["id"]
        officer = Actor(kind="system", id=None, role="opd_staff", opd_id=pupr)
        await act(number, "resolve", officer, expected_version=3, note="Sudah ditambal.")

    db(client, resolve)


def test_citizen_sees_a_confirmation_after_confirming_and_rating(make_client):
    citizen, number = _dispatched(make_client)
    _resolve(citizen, number)
    assert not has(citizen.get(f"/laporan/{number}"), "p.notice-ok[role=status]")

    confirmed = post_form(
        citizen,
        f"/laporan/{number}/aksi",
        {"action": "confirm", "version": version_of(citizen, number)},
    )
    assert confirmed.url.path == f"/laporan/{number}"
    assert text_of(confirmed, "p.notice-ok[role=status]") == (
        f"Terima kasih. Laporan {number} sudah Anda konfirmasi selesai."
    )

    rated = post_form(citizen, f"/laporan/{number}/nilai", {"rating": "5", "comment": "Cepat."})
    assert text_of(rated, "p.notice-ok[role=status]") == (
        f"Terima kasih atas penilaian Anda untuk laporan {number}."
    )
    assert len(select(rated, "p.notice-ok[role=status]")) == 1


def test_category_names_follow_the_page_language(make_client):
    citizen, number = _dispatched(make_client)
    officer = _staff(make_client, "opd_staff", "pupr")
    operator = _staff(make_client, "operator")
    public = make_client()
    pages = [
        (citizen, "/laporan", ".ticket-meta"),
        (citizen, f"/laporan/{number}", ".details"),
        (officer, "/opd", ".ticket-card"),
        (officer, f"/opd/tiket/{number}", "dd.category"),
        (operator, "/operator", f".ticket-row[data-number='{number}']"),
        (operator, f"/operator/tiket/{number}", ".details"),
        (operator, "/operator/baru", "select[name=category]"),
        (public, "/transparansi", "#by-category"),
        (public, "/transparansi", ".ticket-meta"),
    ]
    for client, url, where in pages:
        assert "Jalan rusak" in text_of(client.get(url), where), url
    for client in {citizen, officer, operator, public}:
        client.get("/bahasa/en?next=/")
    for client, url, where in pages:
        text = text_of(client.get(url), where)
        assert "Damaged road" in text and "Jalan rusak" not in text, url
    point = public.get("/transparansi/peta.json").json()["features"][0]["properties"]
    assert (point["category"], point["category_en"]) == ("Jalan rusak", "Damaged road")
