"""The lifecycle in real Chromium: an operator works the inbox (htmx, no page reloads), OPD staff
answer from a 360 px phone with a proof photo, the operator closes, the citizen sees every step."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import create_staff, staff_page
from tests.helpers import valid_nik
from tests.images import textured_camera_jpeg

pytestmark = pytest.mark.browser


def test_operator_opd_and_citizen_work_one_ticket(chromium, phone, live_server):
    # The citizen files a report from the phone.
    citizen = phone.new_page()
    citizen.goto(live_server.url + "/daftar")
    citizen.fill("#nik", valid_nik(21))
    citizen.fill("#name", "Agus Salim")
    citizen.fill("#phone", "0812-7777-8888")
    citizen.click("button[type=submit]")
    citizen.fill("#code", live_server.sign_in_code("+6281277778888"))
    citizen.click("button[value=verify]")
    citizen.wait_for_url("**/lapor")
    citizen.select_option("#category", "jalan-rusak")
    citizen.select_option("#jawaban-jalan-rusak-jenis_kerusakan", "retak")
    citizen.fill("#title", "Aspal mengelupas di depan sekolah")
    citizen.fill(
        "#description", "Aspal mengelupas sepanjang lima meter, anak sekolah sering jatuh."
    )
    citizen.click("[data-gps-button]")
    citizen.wait_for_function("document.querySelector('[data-gps-lat]').value !== ''")
    citizen.click("button[type=submit]:has-text('Kirim laporan')")
    citizen.wait_for_url("**/laporan/CLG-*")
    number = citizen.url.split("/laporan/")[1].split("?")[0]

    create_staff("operator", "operator-satu")
    create_staff("opd_staff", "staf-pupr", opd_slug="pupr")

    context, operator = staff_page(
        chromium, live_server, "operator-satu", {"width": 1280, "height": 900}
    )
    operator.wait_for_url("**/operator")
    operator.click(f"#inbox-rows a:has-text('{number}')")
    detail = operator.locator("#detail")
    expect(detail).to_contain_text("Aspal mengelupas")
    url_before = operator.url
    detail.locator("form.action-verify button").click()
    expect(detail.locator(".notice-ok")).to_be_visible()
    expect(detail.locator("select[name=opd] option:checked")).to_contain_text("Pekerjaan Umum")
    detail.locator("form.action-dispatch button").click()
    expect(detail).to_contain_text("Didisposisikan")
    assert operator.url == url_before  # partial swaps, no page reload
    expect(operator.locator(f"#inbox-rows tr[data-number='{number}']")).to_contain_text(
        "Didisposisikan"
    )

    opd_context, opd = staff_page(chromium, live_server, "staf-pupr", {"width": 360, "height": 780})
    opd.wait_for_url("**/opd")
    assert opd.evaluate("document.documentElement.scrollWidth") <= 360
    opd.click(f"a:has-text('{number}')")
    opd.once("dialog", lambda dialog: dialog.accept())
    with opd.expect_navigation():  # sent through the outbox, then the page shows the new state
        opd.click("button:has-text('Mulai tangani')")
    opd.fill("#reply-note", "Tim PUPR sudah menambal aspal pagi ini.")
    opd.set_input_files(
        "#photos",
        files=[
            {
                "name": "bukti.jpg",
                "mimeType": "image/jpeg",
                "buffer": textured_camera_jpeg(1600, 1200),
            }
        ],
    )
    opd.once("dialog", lambda dialog: dialog.accept())
    opd.click("button[value=resolve]")
    opd.wait_for_url("**/opd?aksi=resolve*")

    operator.click(f"#inbox-rows a:has-text('{number}')")
    expect(detail).to_contain_text("Menunggu konfirmasi")
    operator.once("dialog", lambda dialog: dialog.accept())
    detail.locator("form.action-close button").click()
    expect(detail.locator(".badge-closed").first).to_be_visible()

    citizen.goto(f"{live_server.url}/laporan/{number}")
    timeline = citizen.locator(".timeline").inner_text()
    for step in (
        "Laporan diterima",
        "Diverifikasi operator",
        "Didisposisikan ke OPD",
        "Mulai ditangani OPD",
        "Diselesaikan OPD",
        "Tim PUPR sudah menambal aspal pagi ini.",
        "Selesai (diverifikasi operator)",
    ):
        assert step in timeline, step
    proof = citizen.locator(".timeline .photo-grid img")
    expect(proof).to_have_count(1)
    # Visible is not loaded (a lazy image on a busy machine): wait until its pixels arrived.
    citizen.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=proof.element_handle()
    )
    context.close()
    opd_context.close()
