"""The citizen's filing form in real Chromium: the server's rules checked on the phone before a
report is queued, the open page following the outbox, and the large photo picker."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from db.tables import Complaint, ComplaintPhoto
from tests.images import textured_camera_jpeg
from tests.outbox_helpers import (
    controlled_by_worker,
    fill_complaint,
    outbox_items,
    query,
    sign_up,
)
from web.city import get_city
from web.complaints.forms import parse_complaint_form
from web.forms import FormErrors
from web.photos.pipeline import empty_photo, photo_too_large
from web.photos.uploads import photo_refused, too_many_photos
from web.settings import get_settings

pytestmark = pytest.mark.browser

KEY = "2f1c9f0e-6a51-4c1e-9a8e-3b0d4c5e6f70"
VALID = {
    "client_key": KEY,
    "classification": "complaint",
    "category": "jalan-rusak",
    "title": "Jalan berlubang dekat sekolah",
    "description": "Lubang besar di tengah jalan, sudah dua minggu dibiarkan.",
    "latitude": "-6.0021",
    "longitude": "106.0443",
    "accuracy": "12",
    "address": "",
    "kelurahan": "",
    "privacy": "public",
    "jawaban-jalan-rusak-jenis_kerusakan": "berlubang",  # the category's required question
}
# Forms the server refuses (and one it takes), each for another rule.
CASES = [
    {},
    {"category": "", "title": "Got", "description": "rusak", "latitude": "", "longitude": ""},
    {"title": "   Jalan    rusak   ", "description": " " * 20 + "pendek"},
    {"title": "J" * 151, "description": "D" * 5001, "address": "A" * 256},
    {"title": "x" * 300},
    {"latitude": "-6.0021", "longitude": ""},
    {"latitude": "abc"},
    {"latitude": "95", "longitude": "106"},
    {"latitude": "-7.5", "longitude": "110.4"},  # Yogyakarta: outside Cilegon
    {"latitude": "-6,0021", "longitude": "106,0443"},  # a decimal comma is fine
    {"latitude": "-7.5", "longitude": "110.4", "kelurahan": "36.72.01.1001"},
    {"kelurahan": "99.99.99.9999"},
    {"classification": "", "privacy": "semua"},
    {"classification": "aspirasi", "privacy": "rahasia"},  # pre-rename codes still count
    {"privacy": ""},
    {"client_key": "bukan-kunci", "category": "nul\x00"},
]


def server_errors(values: dict) -> dict:
    try:
        parse_complaint_form(values, get_city())
    except FormErrors as exc:
        return exc.errors
    return {}


def test_offline_form_checks_the_servers_rules_and_the_page_follows_the_outbox(phone, live_server):
    page = phone.new_page()
    sign_up(page, live_server)
    controlled_by_worker(page, live_server)

    # Offline, a form the server would refuse is not saved: errors by the fields, a focused
    # summary linking to them, and what was typed stays.
    phone.set_offline(True)
    page.fill("#title", "Got")
    page.fill("#description", "rusak")
    page.click("button[type=submit]:has-text('Kirim laporan')")
    summary = page.locator("#form-errors[role=alert]")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Pilih kategori laporan.")
    expect(page.locator("#category-error")).to_have_text("Pilih kategori laporan.")
    expect(page.locator("#title-error")).to_contain_text("Judul terlalu pendek")
    expect(page.locator("#description-error")).to_contain_text("minimal 15 huruf")
    expect(page.locator("#kelurahan-error")).to_contain_text("Aktifkan lokasi")
    expect(page.locator("#title")).to_have_attribute("aria-invalid", "true")
    assert "title-error" in (page.get_attribute("#title", "aria-describedby") or "")
    expect(page.locator("#title")).to_have_value("Got")
    expect(page.locator("#description")).to_have_value("rusak")
    expect(page.locator("[data-outbox-notice]")).to_be_hidden()
    assert outbox_items(page) == []
    summary.locator("a", has_text="Judul terlalu pendek").click()
    expect(page.locator("#title")).to_be_focused()

    # The phone's check and the server's give the same fields and the same words.
    cases = [{**VALID, **case} for case in CASES]
    on_phone = page.evaluate(
        """cases => {
            const rules = JSON.parse(document.querySelector("[data-complaint-form]").dataset.rules);
            return cases.map(values => AduanComplaintCheck.fields(values, rules));
        }""",
        cases,
    )
    for case, phone_says in zip(cases, on_phone, strict=True):
        assert phone_says == server_errors(case), case
    # Photos as they would leave the phone (after downscaling): the upload's limits and words.
    photo_checks = page.evaluate(
        """() => {
            const rules = JSON.parse(document.querySelector("[data-complaint-form]").dataset.rules);
            const check = (blobs) => AduanComplaintCheck.photos(blobs, ["a.jpg", "b.jpg"], rules);
            const big = new Blob([new Uint8Array(rules.photo_max_bytes + 1)]);
            const fine = new Blob([new Uint8Array(1000)]);
            return [check([fine, fine]), check([fine, new Blob([])]), check([big]),
                    AduanComplaintCheck.photos(Array(6).fill(fine), [], rules)];
        }"""
    )
    settings = get_settings()
    assert photo_checks == [
        {},
        {"photos": photo_refused(2, "b.jpg", empty_photo())},
        {"photos": photo_refused(1, "a.jpg", photo_too_large(settings.photo_max_bytes))},
        {"photos": too_many_photos(settings.photos_per_complaint)},
    ]

    # Fixed, it is saved; back online, this same open page shows the ticket number.
    page.evaluate("window.__sameFormPage = true")
    fill_complaint(
        page,
        title="Jalan amblas depan pasar",
        description="Jalan amblas sedalam 30 cm di depan pasar, berbahaya malam hari.",
    )
    notice = page.locator("[data-outbox-notice][role=status]")
    expect(notice).to_contain_text("Tersimpan di ponsel ini")
    expect(page.locator("#form-errors")).to_have_count(0)
    expect(page.locator(".field-error")).to_have_count(0)
    assert [i["state"] for i in outbox_items(page)] == ["waiting"]
    phone.set_offline(False)
    expect(notice).to_contain_text("terkirim dengan nomor CLG-", timeout=30_000)
    [row] = query(lambda: Complaint.select(Complaint.number))
    expect(notice.locator("a")).to_have_attribute("href", f"/laporan/{row['number']}")
    expect(notice).to_contain_text(row["number"])
    assert page.evaluate("window.__sameFormPage === true"), "the form page was reloaded"


def test_photo_picker_buttons_thumbnails_remove_and_limit(phone, live_server):
    page = phone.new_page()
    sign_up(page, live_server)
    picker = page.locator("[data-photo-picker]")
    expect(picker.get_by_role("button", name="Ambil foto")).to_be_visible()
    expect(picker.get_by_role("button", name="Pilih dari galeri")).to_be_visible()
    expect(page.locator("#photos")).to_be_hidden()  # the plain input stays for pages without JS
    assert page.get_attribute("[data-photo-camera]", "capture") == "environment"
    heights = page.evaluate(
        """() => [...document.querySelectorAll("[data-photo-picker] button")]
            .map(b => b.getBoundingClientRect().height)"""
    )
    assert heights and min(heights) >= 44, heights

    photo = textured_camera_jpeg(800, 600)

    def gallery(count: int, first: int = 1) -> None:
        page.set_input_files(
            "[data-photo-gallery]",
            files=[
                {"name": f"IMG_{n}.jpg", "mimeType": "image/jpeg", "buffer": photo}
                for n in range(first, first + count)
            ],
        )

    # More than the limit: the first five are kept and the citizen is told.
    gallery(6)
    thumbs = page.locator("[data-photo-previews] li")
    expect(thumbs).to_have_count(5)
    expect(page.locator("[data-photo-status]")).to_contain_text("Paling banyak 5 foto")

    page.goto(live_server.url + "/lapor")
    gallery(2)
    expect(thumbs).to_have_count(2)
    expect(thumbs.locator("img").first).to_have_attribute("alt", "Foto 1: IMG_1.jpg")
    page.get_by_role("button", name="Hapus foto 1").focus()
    page.keyboard.press("Enter")  # keyboard usable
    expect(thumbs).to_have_count(1)
    expect(thumbs.locator("img")).to_have_attribute("alt", "Foto 1: IMG_2.jpg")
    expect(page.get_by_role("button", name="Hapus foto 1")).to_be_focused()
    assert page.evaluate("document.querySelector('#photos').files.length") == 1
    assert page.evaluate("document.querySelector('[data-photo-picker]').photoFiles.length") == 1

    fill_complaint(
        page,
        title="Trotoar rusak di Jalan Sudirman",
        description="Trotoar rusak parah, pejalan kaki harus turun ke jalan raya.",
    )
    page.wait_for_url("**/laporan/CLG-*")
    [row] = query(lambda: Complaint.select(Complaint.id, Complaint.number))
    assert page.url.split("?")[0].endswith(row["number"])
    assert query(lambda: ComplaintPhoto.count().where(ComplaintPhoto.complaint == row["id"])) == 1
