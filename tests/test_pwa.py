"""The installable app in real headless Chromium: manifest, service worker, and the offline outbox."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image
from playwright.sync_api import expect

from db.tables import Complaint, ComplaintPhoto, HttpSession
from tests.browser import GPS_FIX
from tests.images import exif_of, textured_camera_jpeg
from tests.outbox_helpers import (
    DEWI,
    RETIRED_CATEGORY,
    controlled_by_worker,
    fill_complaint,
    offer_retired_category,
    outbox_items,
    query,
    sign_in,
    sign_up,
    wait_for_state,
)

pytestmark = pytest.mark.browser


def test_manifest_is_valid_and_the_worker_controls_the_page(phone, live_server):
    page = phone.new_page()
    page.goto(live_server.url + "/")
    manifest_url = page.eval_on_selector("link[rel=manifest]", "link => link.href")
    response = page.request.get(manifest_url)
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = json.loads(response.body())
    assert manifest["display"] == "standalone"
    assert manifest["lang"] == "id"
    assert manifest["start_url"].startswith("/")
    assert manifest["short_name"] == "Aduan" and "Cilegon" in manifest["name"]
    assert manifest["theme_color"] and manifest["background_color"]
    sizes = {}
    for icon in manifest["icons"]:
        image = Image.open(io.BytesIO(page.request.get(live_server.url + icon["src"]).body()))
        assert f"{image.width}x{image.height}" == icon["sizes"]
        sizes.setdefault(icon["purpose"], set()).add(icon["sizes"])
    assert {"192x192", "512x512"} <= sizes["any"]
    assert "512x512" in sizes["maskable"]

    controlled_by_worker(page, live_server, "/")
    scope = page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.scope)")
    assert scope == live_server.url + "/"
    worker = page.request.get(live_server.url + "/sw.js")
    assert worker.headers["cache-control"] == "no-cache"

    # Offline, a shell page still opens and a personal page falls back to the offline page.
    phone.set_offline(True)
    page.goto(live_server.url + "/lapor")
    assert page.locator("[data-complaint-form]").count() == 1
    page.goto(live_server.url + "/laporan")
    assert "offline" in page.locator("h1").inner_text().lower()
    phone.set_offline(False)


def test_offline_filing_with_photos_is_sent_once_when_back_online(phone, live_server):
    page = phone.new_page()
    sign_up(page, live_server)
    controlled_by_worker(page, live_server)

    phone.set_offline(True)
    camera = [textured_camera_jpeg(), textured_camera_jpeg()]
    assert all(len(photo) > 4_000_000 and exif_of(photo).get("GPSInfo") for photo in camera)
    fill_complaint(
        page,
        title="Jalan amblas depan pasar",
        description="Jalan amblas sedalam 30 cm di depan pasar, sangat berbahaya malam hari.",
        photos=camera,
    )
    expect(page.locator("[data-outbox-notice]")).to_contain_text(
        "Tersimpan di ponsel ini", timeout=30_000
    )
    [item] = outbox_items(page)
    assert item["state"] == "waiting"
    # Downscaled in the phone: a 12-megapixel camera photo leaves at 600 KB or less, as JPEG.
    assert len(item["photoSizes"]) == 2
    assert all(size <= 600 * 1024 for size in item["photoSizes"]), item["photoSizes"]
    assert item["photoTypes"] == ["image/jpeg", "image/jpeg"]

    # Still offline, the page reloads from the worker's cache and the outbox is still there.
    page.reload()
    page.goto(live_server.url + "/menunggu")
    page.locator(".outbox-item").first.wait_for()
    assert page.locator(".outbox-item").count() == 1
    assert page.locator(".outbox-item").get_attribute("data-state") == "waiting"
    assert query(lambda: Complaint.count()) == 0
    tags = page.evaluate("navigator.serviceWorker.ready.then(r => r.sync.getTags())")
    assert "aduan-outbox" in tags  # Chromium's Background Sync will wake the worker

    phone.set_offline(False)  # background sync fires; the page also retries on "online"
    wait_for_state(page, "sent")
    [sent] = outbox_items(page)
    assert sent["number"].startswith("CLG-")

    complaints = query(lambda: Complaint.select())
    assert len(complaints) == 1
    complaint = complaints[0]
    assert complaint["number"] == sent["number"]
    assert complaint["latitude"] == pytest.approx(GPS_FIX["latitude"], abs=1e-5)
    assert complaint["longitude"] == pytest.approx(GPS_FIX["longitude"], abs=1e-5)
    assert complaint["location_accuracy_m"] == pytest.approx(GPS_FIX["accuracy"], abs=1)
    photos = query(lambda: ComplaintPhoto.select().order_by(ComplaintPhoto.position))
    assert len(photos) == 2
    for photo in photos:
        stored = (live_server.media_dir / photo["storage_key"]).read_bytes()
        assert not exif_of(stored)
        assert (
            Image.open(io.BytesIO(stored)).height > Image.open(io.BytesIO(stored)).width
        )  # portrait

    # A forced second send of the same item (a retry after a lost answer) still leaves one ticket.
    again = page.evaluate(
        "key => AduanOutbox.send(key, {force: true, csrf: AduanPage.csrfToken()})", sent["key"]
    )
    assert again["state"] == "sent" and again["number"] == sent["number"]
    assert query(lambda: Complaint.count()) == 1
    assert query(lambda: ComplaintPhoto.count()) == 2

    page.goto(live_server.url + sent["number"].join(["/laporan/", ""]))
    assert "Jalan amblas depan pasar" in page.content()


def test_item_rejected_by_the_server_stays_with_its_reason(phone, live_server):
    page = phone.new_page()
    sign_up(page, live_server)
    controlled_by_worker(page, live_server)
    phone.set_offline(True)
    offer_retired_category(page)  # only the server knows the category is gone
    fill_complaint(
        page,
        title="Got mampet",
        description="Got mampet di Jalan Sudirman, air meluap.",
        category=RETIRED_CATEGORY,
    )
    expect(page.locator("[data-outbox-notice]")).to_contain_text("Tersimpan di ponsel ini")

    # The list is open (from the worker's cache) when the signal comes back: it follows the
    # outbox without a reload and says what happened in its status region.
    page.goto(live_server.url + "/menunggu")
    entry = page.locator(".outbox-item")
    expect(entry).to_have_attribute("data-state", "waiting")
    page.evaluate("window.__sameListPage = true")
    phone.set_offline(False)
    expect(entry).to_have_attribute("data-state", "rejected", timeout=30_000)
    expect(entry.locator(".outbox-reason")).to_contain_text("Kategori tidak dikenal")
    announce = page.locator("[role=status][data-outbox-announce]")
    expect(announce).to_contain_text("ditolak server")
    expect(announce).to_contain_text("Kategori tidak dikenal")
    assert page.evaluate("window.__sameListPage === true"), "the list was reloaded"
    [item] = outbox_items(page)
    assert item["state"] == "rejected" and "Kategori tidak dikenal" in item["error"]
    assert query(lambda: Complaint.count()) == 0

    # The citizen fixes it from the list and it goes through, as the same outbox item.
    entry.locator("a.button:has-text('Perbaiki dan kirim ulang')").click()
    page.wait_for_url("**/lapor?ubah=*")
    expect(page.locator("#title")).to_have_value("Got mampet")
    page.select_option("#category", "jalan-rusak")
    page.select_option("#jawaban-jalan-rusak-jenis_kerusakan", "berlubang")
    page.click("button[type=submit]:has-text('Kirim laporan')")
    page.wait_for_url("**/laporan/CLG-*")
    assert query(lambda: Complaint.count()) == 1
    assert [i["state"] for i in outbox_items(page)] == ["sent"]


def test_expired_sign_in_keeps_the_item_until_the_citizen_signs_in_again(phone, live_server):
    page = phone.new_page()
    sign_up(page, live_server)
    controlled_by_worker(page, live_server)
    # The session expires on the server, as after a long time offline. Wait for the page's own
    # requests first: every response re-sends the session cookie and would race with this.
    page.wait_for_load_state("networkidle")
    query(lambda: HttpSession.delete(force=True))
    fill_complaint(
        page,
        title="Lampu jalan mati",
        description="Lampu jalan mati sejak seminggu di gang masjid.",
    )
    wait_for_state(page, "needs_sign_in")
    assert query(lambda: Complaint.count()) == 0

    sign_in(page, live_server, DEWI)
    wait_for_state(page, "sent")
    assert query(lambda: Complaint.count()) == 1


RECORD_LAYOUT_SHIFTS = """
window.__layoutShifts = [];
new PerformanceObserver(list => list.getEntries().forEach(entry => window.__layoutShifts.push([
  entry.value,
  entry.sources.map(source => source.node && (source.node.parentNode || {}).outerHTML.slice(0, 60))
]))).observe({type: "layout-shift", buffered: true});
"""


@pytest.mark.parametrize("path", ["/", "/lapor", "/menunggu", "/daftar", "/masuk"])
def test_pages_fit_360px_with_large_touch_targets(phone, live_server, path):
    page = phone.new_page()
    page.add_init_script(RECORD_LAYOUT_SHIFTS)
    page.goto(live_server.url + path)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "no sideways scrolling"
    small = page.evaluate(
        """() => [...document.querySelectorAll('button, input, select, textarea, nav a, a.button')]
            .filter(el => el.offsetParent !== null && el.type !== 'hidden' && el.type !== 'radio')
            .map(el => [el.outerHTML.slice(0, 60), Math.round(el.getBoundingClientRect().height)])
            .filter(([, height]) => height < 44)"""
    )
    assert small == [], f"touch targets under 44 px: {small}"
    # Nothing the scripts show after load (the outbox list or its empty note, the account link)
    # pushes what is already on screen: a visitor taps the footer link, not what moved under it.
    page.wait_for_load_state("networkidle")
    if path == "/menunggu":
        page.wait_for_selector("[data-outbox-empty]:not([hidden])")
    shifts = page.evaluate("window.__layoutShifts")
    assert sum(shift[0] for shift in shifts) < 0.01, f"layout shifts after load: {shifts}"
