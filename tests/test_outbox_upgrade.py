"""A phone that queued reports under the previous release's outbox (IndexedDB version 1, photos inside
each record, no owner) keeps them through the upgrade; they leave only as the account that claims them."""

from __future__ import annotations

import base64
import uuid

import pytest
from playwright.sync_api import expect

from db.tables import Complaint, ComplaintPhoto
from tests.conftest import run_async
from tests.images import textured_camera_jpeg
from tests.outbox_helpers import controlled_by_worker, outbox_items, sign_up, wait_for_state

pytestmark = pytest.mark.browser

# What release 1 wrote: the record held its photos and the page's CSRF token, and had no owner.
WRITE_VERSION_1_ITEM = """async ([key, photo]) => {
  const bytes = Uint8Array.from(atob(photo), c => c.charCodeAt(0));
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open("aduan", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("outbox", { keyPath: "key" });
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  await new Promise((resolve, reject) => {
    const tx = db.transaction("outbox", "readwrite");
    tx.objectStore("outbox").put({
      key, title: "Lampu jalan padam", createdAt: Date.now(), state: "sending", attempts: 2,
      sendingSince: Date.now(), nextTryAt: 0, csrf: "old", error: null,
      fields: { classification: "pengaduan", category: "lampu-jalan", title: "Lampu jalan padam",
        description: "Tiga lampu jalan padam sejak minggu lalu di depan masjid.", privacy: "publik",
        latitude: "-6.0021", longitude: "106.0443", accuracy_m: "12", address: "", kelurahan: "" },
      photos: [new Blob([bytes], { type: "image/jpeg" })],
    });
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}"""


def test_items_from_the_previous_outbox_survive_the_upgrade_and_wait_for_a_claim(
    phone, live_server
):
    page = phone.new_page()
    # A same-origin document without our scripts, so nothing opens the outbox before release 1 did.
    page.goto(live_server.url + "/manifest.webmanifest")
    key = str(uuid.uuid4())
    photo = base64.b64encode(textured_camera_jpeg(width=800, height=600)).decode()
    page.evaluate(WRITE_VERSION_1_ITEM, [key, photo])

    sign_up(page, live_server)
    controlled_by_worker(page, live_server, "/menunggu")
    entry = page.locator(f".outbox-item[data-key='{key}']")
    # Whose it was is unknown: it is not sent by itself, it says so and offers to send it as me.
    expect(entry).to_have_attribute("data-state", "needs_sign_in")
    expect(entry.locator(".outbox-owner")).to_contain_text("Ditulis saat belum masuk")
    [item] = outbox_items(page)
    assert item["owner"] is None and len(item["photoSizes"]) == 1
    assert run_async(lambda: Complaint.count()) == 0

    entry.locator("button:has-text('Kirim atas nama saya')").click()
    wait_for_state(page, "sent")
    [filed] = run_async(lambda: Complaint.select(Complaint.client_key, Complaint.citizen))
    assert str(filed["client_key"]) == key and filed["citizen"] is not None
    assert run_async(lambda: ComplaintPhoto.count()) == 1  # the photo came along
    # Sent items give their photos' room back.
    assert outbox_items(page)[0]["photoSizes"] == []
