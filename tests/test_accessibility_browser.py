"""WCAG 2.2 AA, measured in real Chromium (issue 13 §4).

One walk over every HTML page of the route table, for every role (public, citizen, operator, OPD
staff, leader, admin), at 360 px and 1366 px: axe-core finds no violation of the A/AA rules, the
page fits a 360 px phone, and every target is at least 24 px (44 px for primary actions). The
walk includes the states that matter: form errors shown, an outbox item waiting and one refused,
the location picker's map open, htmx partials after an action. Pages come from the app's route
table, so a new page is walked without anyone adding it; SKIPPED names the routes that are not
pages. Then the location picker without dragging and the focused error summary.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.a11y_walk import DESKTOP, PHONE, Findings, measure
from tests.browser import GPS_FIX, create_staff, new_phone, staff_page
from tests.helpers import app_routes
from tests.images import textured_camera_jpeg
from tests.outbox_helpers import DEWI, fill_complaint

pytestmark = pytest.mark.browser

# GET routes that are not pages a person reads, with the reason.
SKIPPED = {
    "/healthz": "health check (JSON)",
    "/readyz": "readiness check (JSON)",
    "/bahasa/{locale:str}": "sets the language and redirects back",
    "/static/{path:path}": "CSS, JS, icons",
    "/sw.js": "service worker script",
    "/manifest.webmanifest": "web app manifest (JSON)",
    "/laporan/{number:str}/foto/{photo_id:str}": "photo file",
    "/laporan/{number:str}/foto/{photo_id:str}/kecil": "photo file",
    "/staf/foto/{photo_id:str}": "photo file",
    "/staf/foto/{photo_id:str}/kecil": "photo file",
    "/pimpinan/laporan.csv": "CSV download",
    "/pimpinan/laporan.xlsx": "spreadsheet download",
    "/transparansi/peta.json": "GeoJSON for the public map",
    "/notifikasi/kunci": "push public key (JSON)",
    "/notifikasi/perangkat": "device list fragment: checked inside /akun and /staf/notifikasi",
    "/masuk/kode": "needs a code just asked for: checked in the sign-up (state below)",
    "/operator/langsung": "the live inbox's event stream (text/event-stream, not a page)",
    "/open311/v2/discovery.json": "Open311 API (JSON)",
    "/open311/v2/discovery.xml": "Open311 API (XML)",
    "/open311/v2/services.json": "Open311 API (JSON)",
    "/open311/v2/services.xml": "Open311 API (XML)",
    "/open311/v2/services/{service_file:str}": "Open311 API (JSON or XML)",
    "/open311/v2/requests.json": "Open311 API (JSON)",
    "/open311/v2/requests.xml": "Open311 API (XML)",
    "/open311/v2/requests/{request_file:str}": "Open311 API (JSON or XML)",
    "/open311/v2/tokens/{token:str}": "Open311 API (JSON or XML)",
    "/open311/v2/servicerequestupdates.json": "Open311 API (JSON)",
    "/open311/v2/servicerequestupdates.xml": "Open311 API (XML)",
}
STAFF = {  # walk role -> (role, username, OPD)
    "operator": ("operator", "operator-a11y", None),
    "opd_staff": ("opd_staff", "staf-pupr-a11y", "pupr"),
    "supervisor": ("supervisor", "pimpinan-a11y", None),
    "admin": ("admin", "admin-a11y", None),
}


def category_id(slug: str) -> int:
    from db.tables import Category
    from tests.conftest import run_async

    return run_async(lambda: Category.select(Category.id).where(Category.slug == slug).first())[
        "id"
    ]


def pages_for(walk_role: str, ticket: str) -> list[str]:
    """The HTML pages ``walk_role`` may open, from the route table, with real ids filled in."""
    from web.app import create_app

    pages = []
    for method, path, handler in app_routes(create_app()):
        if method != "GET" or path in SKIPPED:
            continue
        roles = handler.opt.get("roles")
        if roles is None:
            admitted = walk_role in ("anonymous", "citizen")
        else:
            admitted = walk_role in {getattr(role, "value", role) for role in roles}
        if not admitted:
            continue
        filled = path.replace("{number:str}", ticket)
        if "{category_id:str}" in filled:  # one with questions of its own (the city file's)
            filled = filled.replace("{category_id:str}", str(category_id("jalan-rusak")))
        assert "{" not in filled, f"give {path} a real id in pages_for, or list it in SKIPPED"
        pages.append(filled)
    return pages


def walk(page, server, role: str, ticket: str, found: Findings) -> None:
    for path in pages_for(role, ticket):
        not_a_page = f"{path} is not a page for {role}: list it in SKIPPED with the reason"
        try:
            # "commit": back at the response's headers, so a stream or a download cannot hang here.
            response = page.goto(server.url + path, wait_until="commit")
        except PlaywrightError as exc:  # a download
            raise AssertionError(not_a_page) from exc
        assert response is not None and response.ok, (role, path, response and response.status)
        assert response.headers["content-type"].startswith("text/html"), not_a_page
        page.wait_for_load_state()
        if page.url.removeprefix(server.url).split("?")[0] != path:
            continue  # redirected (a citizen page signed out, /masuk signed in): walked there
        measure(page, f"{role} {path}", found)


def test_every_page_for_every_role_meets_wcag_aa(chromium, live_server):
    found = Findings()
    for _walk_role, (role, username, opd) in STAFF.items():
        create_staff(role, username, opd_slug=opd)

    # Citizen: signs up (the code page), opens the map, files a report, walks every page.
    citizen_context = new_phone(chromium)
    citizen = citizen_context.new_page()
    citizen.goto(live_server.url + "/daftar")
    citizen.fill("#nik", DEWI.nik)
    citizen.fill("#name", DEWI.name)
    citizen.fill("#phone", DEWI.phone_local)
    before = len(live_server.sign_in_codes(DEWI.phone_e164))
    citizen.click("button[type=submit]")
    citizen.wait_for_url("**/masuk/kode")
    measure(citizen, "anonymous /masuk/kode", found)
    citizen.fill("#code", live_server.sign_in_code(DEWI.phone_e164, after=before))
    citizen.click("button[value=verify]")
    citizen.wait_for_url("**/lapor")
    citizen.click("[data-map-button]")
    expect(citizen.locator("[data-map].leaflet-container")).to_be_visible()
    citizen.locator("[data-map]").click()
    expect(citizen.locator("[data-gps-lat]")).not_to_have_value("")
    measure(citizen, "citizen /lapor map open", found)
    fill_complaint(
        citizen,
        title="Trotoar rusak di depan pasar",
        description="Trotoar ambles sepanjang dua meter, pejalan kaki harus turun ke jalan.",
    )
    citizen.wait_for_url("**/laporan/CLG-*", timeout=30_000)
    ticket = citizen.url.split("/laporan/")[1].split("?")[0]
    walk(citizen, live_server, "citizen", ticket, found)
    # The filing form with two photos chosen (thumbnails, remove buttons) and the phone's own
    # checks shown (the summary and the messages by the fields, before anything is queued).
    citizen.goto(live_server.url + "/lapor")
    photo = textured_camera_jpeg(800, 600)
    citizen.set_input_files(
        "[data-photo-gallery]",
        files=[{"name": f"IMG_{n}.jpg", "mimeType": "image/jpeg", "buffer": photo} for n in (1, 2)],
    )
    expect(citizen.get_by_role("button", name="Hapus foto 2")).to_be_visible()
    citizen.fill("#title", "Got")
    citizen.click("button[type=submit]:has-text('Kirim laporan')")
    expect(citizen.locator("#form-errors[role=alert]")).to_be_focused()
    measure(citizen, "citizen /lapor photos chosen, the phone's checks shown", found)
    # The outbox with an item waiting (offline) and one the server refused.
    citizen.goto(live_server.url + "/menunggu")
    citizen_context.set_offline(True)
    citizen.evaluate(
        """() => Promise.all([
          AduanOutbox.save({key: "a11y-waiting", title: "Lampu padam", state: "waiting",
                            createdAt: Date.now(), owner: null}, []),
          AduanOutbox.save({key: "a11y-refused", title: "Sampah menumpuk", state: "rejected",
                            error: "Pilih kategori laporan.", createdAt: Date.now() - 1000,
                            owner: null}, [])])"""
    )
    expect(citizen.locator(".outbox-waiting")).to_have_count(1)
    expect(citizen.locator(".outbox-rejected")).to_have_count(1)
    measure(citizen, "citizen /menunggu waiting and refused", found)
    citizen.evaluate(
        "() => Promise.all([AduanOutbox.remove('a11y-waiting'), AduanOutbox.remove('a11y-refused')])"
    )
    citizen_context.set_offline(False)

    # Operator: every page, the ticket opened in the inbox (htmx), verified and dispatched.
    operator_context, operator = staff_page(chromium, live_server, "operator-a11y", PHONE)
    operator.wait_for_url("**/operator")
    walk(operator, live_server, "operator", ticket, found)
    operator.goto(live_server.url + "/operator")
    operator.set_viewport_size(DESKTOP)
    operator.click(f"#inbox-rows a:has-text('{ticket}')")
    detail = operator.locator("#detail")
    expect(detail).to_contain_text("Trotoar rusak")
    detail.locator("form.action-verify button").click()
    expect(detail.locator(".notice-ok")).to_be_visible()
    measure(operator, "operator /operator after verify (htmx)", found)
    operator.set_viewport_size(DESKTOP)
    detail.locator("form.action-dispatch button").click()
    expect(detail).to_contain_text("Didisposisikan")
    operator.goto(live_server.url + "/operator/baru")
    operator.click("main button[type=submit]")  # the form has novalidate: the server answers
    expect(operator.locator("#form-errors")).to_be_focused()
    measure(operator, "operator /operator/baru with errors", found)

    # OPD staff: every page, and the ticket after "Mulai tangani".
    opd_context, opd = staff_page(chromium, live_server, "staf-pupr-a11y", PHONE)
    opd.wait_for_url("**/opd")
    walk(opd, live_server, "opd_staff", ticket, found)
    opd.goto(f"{live_server.url}/opd/tiket/{ticket}")
    opd.once("dialog", lambda dialog: dialog.accept())
    opd.click("button:has-text('Mulai tangani')")
    expect(opd.locator("#reply-note")).to_be_visible()
    measure(opd, "opd_staff /opd/tiket after start", found)
    # An action kept on the phone because the ticket changed meanwhile (a conflict to decide on).
    opd.evaluate(
        """n => AduanOutbox.whoIsSignedIn().then(account => AduanOutbox.save({
             key: "a11y-conflict", title: n + " · Kirim tindak lanjut", state: "conflict",
             endpoint: "/opd/tiket/" + n + "/aksi", ticketNumber: n, createdAt: Date.now(),
             owner: account, fields: {action: "follow_up", note: "Sudah dicek", version: "2",
                                      done_at: String(Date.now())},
             error: "Tiket ini sudah berubah sejak Anda membukanya.",
             ticket: {status: "returned", status_label: "Dikembalikan OPD", version: 3}}, []))""",
        ticket,
    )
    opd.reload()
    expect(opd.locator("[data-opd-outbox] li[data-state=conflict]")).to_be_visible()
    measure(opd, "opd_staff /opd/tiket with a conflict kept on the phone", found)
    opd.evaluate("() => AduanOutbox.remove('a11y-conflict')")

    # Public, once there is a ticket to count: every page, and the forms with their errors shown.
    public_context = new_phone(chromium)
    public = public_context.new_page()
    walk(public, live_server, "anonymous", ticket, found)
    public.goto(live_server.url + "/daftar")
    public.fill("#nik", "123")
    public.fill("#name", "A")
    public.fill("#phone", "12")
    public.click("button[type=submit]")
    expect(public.locator("#form-errors")).to_be_focused()
    measure(public, "anonymous /daftar with errors", found)
    public.goto(live_server.url + "/staf/masuk")
    public.fill("#username", "tidak-ada")
    public.fill("#password", "salah-sekali")
    public.click("button[type=submit]")
    expect(public.locator("#form-errors")).to_be_visible()
    measure(public, "anonymous /staf/masuk with errors", found)

    # The public figures fit a phone with no sideways scrolling, their tables included (a longer
    # name than the city's may still scroll inside its own focusable box, never the page).
    public.goto(live_server.url + "/transparansi")
    expect(public.locator("#by-opd tbody th")).to_have_count(1)
    wide = public.evaluate(
        """() => [...document.querySelectorAll('.table-scroll')]
             .filter(box => box.scrollWidth > box.clientWidth)
             .map(box => box.ariaLabel + " " + box.scrollWidth + "/" + box.clientWidth)"""
    )
    assert wide == []

    # Leader and admin: every page.
    for role, username in (("supervisor", "pimpinan-a11y"), ("admin", "admin-a11y")):
        context, page = staff_page(chromium, live_server, username, PHONE)
        page.wait_for_load_state()
        walk(page, live_server, role, ticket, found)
        if role == "admin":
            # A category's questions: one open for editing, then a change refused.
            road = f"/admin/kategori/{category_id('jalan-rusak')}/pertanyaan"
            page.goto(live_server.url + road + "?ubah=jenis_kerusakan")
            page.fill("#choices", "berlubang = Berlubang\nberlubang = Dua kali")
            page.click("#question-form button[type=submit]")
            expect(page.locator("#form-errors")).to_be_visible()
            measure(page, f"admin {road} with errors", found)
        context.close()

    for context in (public_context, citizen_context, operator_context, opd_context):
        context.close()
    print(f"\naxe walk: {len(found.checked)} page views checked")
    assert len(found.checked) >= 2 * 30, found.checked
    assert not (found.axe or found.width or found.targets), found.report()


def test_location_without_dragging_error_summary_and_announced_outbox(chromium, live_server):
    context = new_phone(chromium)
    page = context.new_page()

    # The location picker: a tap places the pin, the arrow keys move it (WCAG 2.5.7).
    page.goto(live_server.url + "/lapor")
    page.click("[data-map-button]")
    box = page.locator("[data-map]")
    expect(box).to_have_class(re.compile("leaflet-container"))
    expect(page.locator("#map-help")).to_be_visible()
    expect(box.get_by_role("button", name="Perbesar")).to_be_visible()  # in the page's language
    lat, lng = page.locator("[data-gps-lat]"), page.locator("[data-gps-lng]")
    box.tap(position={"x": 60, "y": 60})
    expect(lat).not_to_have_value("")
    first = (float(lat.input_value()), float(lng.input_value()))
    box.tap(position={"x": 200, "y": 200})
    expect(lat).not_to_have_value(str(first[0]))
    tapped = (float(lat.input_value()), float(lng.input_value()))
    assert tapped[0] < first[0] and tapped[1] > first[1]  # lower and to the right: south-east
    box.focus()
    page.keyboard.press("ArrowUp")
    expect(lat).not_to_have_value(f"{tapped[0]:.6f}")
    assert float(lat.input_value()) > tapped[0]
    assert float(lng.input_value()) == pytest.approx(tapped[1], abs=1e-6)
    page.keyboard.press("ArrowRight")
    assert float(lng.input_value()) > tapped[1]
    expect(page.locator("[data-gps-status]")).to_contain_text("dipilih di peta")
    # Without the map at all: the phone's GPS, or the kelurahan chosen from the list.
    page.click("[data-gps-button]")
    expect(lat).to_have_value(f"{GPS_FIX['latitude']:.6f}")
    page.select_option("#kelurahan", index=1)

    # A failed server-rendered form: the summary is focused and each message leads to its field.
    page.goto(live_server.url + "/daftar")
    page.fill("#nik", "123")
    page.fill("#phone", "12")
    page.click("main button[type=submit]")
    summary = page.locator("#form-errors")
    expect(summary).to_be_focused()
    expect(summary).to_have_attribute("role", "alert")
    summary.locator("a[href='#phone']").click()
    expect(page.locator("#phone")).to_be_focused()
    summary.locator("a[href='#nik']").click()
    expect(page.locator("#nik")).to_be_focused()

    # The outbox says each change of state in a status region (the list is redrawn whole).
    page.goto(live_server.url + "/menunggu")
    announce = page.locator("[data-outbox-announce]")
    expect(announce).to_have_attribute("role", "status")
    context.set_offline(True)
    page.evaluate(
        """() => AduanOutbox.save({key: "a11y-one", title: "Got mampet", state: "waiting",
                                   createdAt: Date.now(), owner: null}, [])"""
    )
    expect(announce).to_have_text("Got mampet: Menunggu sinyal")
    page.evaluate(
        """() => AduanOutbox.update("a11y-one", {state: "rejected",
                                                 error: "Pilih kategori laporan."})"""
    )
    expect(announce).to_have_text("Laporan “Got mampet” ditolak server: Pilih kategori laporan.")
    page.evaluate("() => AduanOutbox.remove('a11y-one')")
    context.set_offline(False)

    context.close()
