"""The pages under the real Content-Security-Policy in Chromium: the maps (Leaflet and its tiles),
photo previews and the ticket page work with no violation (the autouse no_csp_violations fixture
fails the test on any), and nothing personal lands in the service worker's caches.

Named to run after test_push_browser.py, which starts the shared live server: its in-process jobs
must not run during the modules that deliver notifications themselves."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.images import textured_camera_jpeg
from tests.outbox_helpers import controlled_by_worker, fill_complaint, sign_up

pytestmark = pytest.mark.browser


def cached_urls(page) -> list[str]:
    return page.evaluate(
        """caches.keys().then(names => Promise.all(names.map(name =>
            caches.open(name).then(cache => cache.keys()).then(requests => requests.map(r => r.url))
        ))).then(lists => lists.flat())"""
    )


def test_maps_photos_and_ticket_pages_run_under_the_csp(phone, live_server):
    page = phone.new_page()
    sign_up(page, live_server)
    controlled_by_worker(page, live_server)

    # The location picker loads Leaflet and asks for tiles from the configured tile server.
    page.click("[data-map-button]")
    expect(page.locator("[data-map].leaflet-container")).to_be_visible()
    page.locator("[data-map] img.leaflet-tile").first.wait_for(state="attached")
    page.locator("[data-map]").click()  # a picked point: Leaflet draws an SVG circle

    fill_complaint(
        page,
        title="Lampu jalan padam",
        description="Lampu jalan di depan masjid padam sejak seminggu, jalan gelap sekali.",
        photos=[textured_camera_jpeg(1200, 900)],
    )
    page.wait_for_url("**/laporan/CLG-*", timeout=30_000)
    number = page.url.split("/laporan/")[1].split("?")[0]
    thumbnail = page.locator(".photo-grid img").first
    expect(thumbnail).to_be_visible()
    # Visible is not loaded (a lazy image on a busy machine): wait until its pixels arrived.
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle()
    )
    page.goto(f"{live_server.url}/laporan")
    page.goto(f"{live_server.url}/laporan/{number}")
    assert number in page.content()

    # Personal pages and photos never enter the worker's caches (only /static and shell pages).
    urls = cached_urls(page)
    assert urls, "the worker caches nothing at all?"
    personal = [url for url in urls if "/laporan" in url or "/foto/" in url or "/akun" in url]
    assert personal == [], personal

    # The public map on the transparency page.
    page.goto(f"{live_server.url}/transparansi")
    page.locator("#peta").scroll_into_view_if_needed()  # it loads when it comes near the screen
    expect(page.locator(".leaflet-container")).to_be_visible()
