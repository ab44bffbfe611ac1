"""Push notifications in real headless Chromium: the permission is asked only when the citizen
presses "Aktifkan notifikasi", and a status change made by an operator in the app reaches the
service worker, which shows it. Headless Chromium cannot subscribe to a real push service, so the
page's pushManager is stood in for by the test's own keys, and the push message is delivered to the
registered worker through the DevTools protocol (ServiceWorker.deliverPushMessage)."""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import expect

from db.tables import Complaint, Notification, PushSubscription
from tests.browser import create_staff, free_port, staff_page, start_server, stop_server
from tests.conftest import run_async
from tests.helpers import valid_nik
from web.notifications.delivery import push_payload


@pytest.fixture(scope="module")
def live_server(database, tmp_path_factory):
    """This module's own server with the in-process jobs on (it is about the app delivering
    pushes by itself); stopped after the module, so no other test races its delivery job."""
    process, server = start_server(
        tmp_path_factory.mktemp("live-jobs"), free_port(), ADUAN_JOBS_IN_PROCESS="true"
    )
    yield server
    stop_server(process)


pytestmark = pytest.mark.browser

PHONE_LOCAL = "0812-4444-7777"
PHONE_E164 = "+6281244447777"

COUNT_PERMISSION_ASKS = """
window.__permissionAsks = 0;
if (window.Notification) {
  const ask = Notification.requestPermission.bind(Notification);
  Notification.requestPermission = function () {
    window.__permissionAsks += 1;
    return ask.apply(null, arguments);
  };
}
"""

# What pushManager.subscribe() would give on a phone: the fake push service's endpoint and the
# test's keys (so the test could decrypt what is sent to it).
STAND_IN_PUSH_MANAGER = """
(() => {
  const subscription = %s;
  // Like a real browser, the subscription outlives the page (kept for this tab's session).
  const made = (key) => ({
    endpoint: subscription.endpoint,
    options: { applicationServerKey: key, userVisibleOnly: true },
    toJSON: () => subscription,
    unsubscribe: () => { current = null; sessionStorage.removeItem("__pushKey"); return Promise.resolve(true); },
  });
  const kept = sessionStorage.getItem("__pushKey");
  let current = kept ? made(new Uint8Array(JSON.parse(kept)).buffer) : null;
  PushManager.prototype.getSubscription = function () { return Promise.resolve(current); };
  PushManager.prototype.subscribe = function (options) {
    window.__subscribedWithKey = Array.from(new Uint8Array(options.applicationServerKey));
    sessionStorage.setItem("__pushKey", JSON.stringify(window.__subscribedWithKey));
    current = made(options.applicationServerKey);
    return Promise.resolve(current);
  };
})();
"""


def wait_until(check, timeout=20.0, page=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        if page is not None:
            page.wait_for_timeout(100)  # lets Playwright dispatch CDP events meanwhile
        else:
            time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_a_status_change_becomes_a_notification_the_worker_shows(
    chromium, phone, live_server, push_service
):
    browser_keys = push_service.subscription("citizen")
    # Granting replaces the origin's permissions: keep the phone's GPS and background sync.
    phone.grant_permissions(
        ["geolocation", "background-sync", "notifications"], origin=live_server.url
    )
    phone.add_init_script(COUNT_PERMISSION_ASKS)
    phone.add_init_script(STAND_IN_PUSH_MANAGER % json.dumps(browser_keys.as_json()))
    citizen = phone.new_page()

    citizen.goto(f"{live_server.url}/daftar")
    citizen.fill("#nik", valid_nik(31))
    citizen.fill("#name", "Wulan Sari")
    citizen.fill("#phone", PHONE_LOCAL)
    citizen.click("button[type=submit]")
    citizen.fill("#code", live_server.sign_in_code(PHONE_E164))
    citizen.click("button[value=verify]")
    citizen.wait_for_url("**/lapor")
    assert citizen.evaluate("window.__permissionAsks") == 0
    citizen.select_option("#category", "jalan-rusak")
    citizen.select_option("#jawaban-jalan-rusak-jenis_kerusakan", "berlubang")
    citizen.fill("#title", "Gorong-gorong tersumbat")
    citizen.fill("#description", "Air meluap ke jalan setiap hujan, gorong-gorong penuh sampah.")
    citizen.click("[data-gps-button]")
    citizen.wait_for_function("document.querySelector('[data-gps-lat]').value !== ''")
    citizen.click("button[type=submit]:has-text('Kirim laporan')")
    citizen.wait_for_url("**/laporan/CLG-*?terkirim=1")
    number = citizen.url.split("/laporan/")[1].split("?")[0]

    # The meaningful moment: the ticket is filed. Offered, but nothing asked until pressed.
    offer = citizen.locator("[data-push-offer=after-filing]")
    expect(offer).to_be_visible()
    assert citizen.evaluate("window.__permissionAsks") == 0
    offer.locator("button:has-text('Aktifkan notifikasi')").click()
    expect(offer.locator("[data-push-status]")).to_have_text("Notifikasi aktif di perangkat ini.")
    assert citizen.evaluate("window.__permissionAsks") == 1
    server_key = citizen.evaluate("fetch('/notifikasi/kunci').then(r => r.json())")["publicKey"]
    from web.notifications.vapid import b64url

    assert b64url(bytes(citizen.evaluate("window.__subscribedWithKey"))) == server_key
    saved = run_async(
        lambda: PushSubscription.select(
            PushSubscription.endpoint, PushSubscription.citizen.name.as_alias("name")
        ).first()
    )
    assert saved == {"endpoint": browser_keys.endpoint, "name": "Wulan Sari"}

    # Other pages never ask; the account page lists the device.
    citizen.goto(f"{live_server.url}/akun")
    expect(citizen.locator("#push-devices .device-list li")).to_have_count(1)
    assert citizen.evaluate("window.__permissionAsks") == 0
    # The sign-out form will tell the server which device to forget.
    expect(citizen.locator("form[action='/keluar'] [data-push-endpoint]")).to_have_value(
        browser_keys.endpoint
    )

    # An operator signs in (offered once, right after signing in) and verifies the ticket.
    create_staff("operator", "operator-push")
    context, operator = staff_page(
        chromium, live_server, "operator-push", {"width": 1280, "height": 900}
    )
    operator.wait_for_url("**/operator")
    expect(operator.locator("[data-push-offer=after-sign-in]")).to_be_visible()
    operator.reload()
    expect(operator.locator("[data-push-offer=after-sign-in]")).to_be_hidden()
    operator.click(f"#inbox-rows a:has-text('{number}')")
    detail = operator.locator("#detail")
    detail.locator("form.action-verify button").click()
    expect(detail.locator(".notice-ok")).to_be_visible()
    context.close()

    # The status change queued a notification for the citizen's phone...
    row = run_async(
        lambda: (
            Notification.select(
                Notification.all_columns(), Notification.complaint.number.as_alias("number")
            )
            .where(Notification.kind == "verify")
            .first()
        )
    )
    assert row["url"] == f"/laporan/{number}"
    payload = push_payload(row)
    # ...which the app's in-process worker sends to the push service, encrypted for this phone.
    [sent] = push_service.wait_for(1)
    assert sent.decrypted == json.loads(payload)

    # The push service hands it to the phone: deliver it to the registered worker.
    citizen.goto(f"{live_server.url}/laporan/{number}")
    citizen.evaluate("navigator.serviceWorker.ready.then(() => true)")
    cdp = phone.new_cdp_session(citizen)
    registrations = {}

    def registration_updated(event):
        for registration in event["registrations"]:
            registrations[registration["registrationId"]] = registration

    cdp.on("ServiceWorker.workerRegistrationUpdated", registration_updated)
    cdp.send("ServiceWorker.enable")
    registration_id = wait_until(
        lambda: next(
            (
                rid
                for rid, r in registrations.items()
                if r["scopeURL"] == live_server.url + "/" and not r["isDeleted"]
            ),
            None,
        ),
        page=citizen,
    )
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": live_server.url, "registrationId": registration_id, "data": payload},
    )
    shown = wait_until(
        lambda: citizen.evaluate(
            """navigator.serviceWorker.ready
                .then(r => r.getNotifications())
                .then(list => list.map(n => ({title: n.title, body: n.body, tag: n.tag, url: n.data.url})))"""
        ),
        page=citizen,
    )
    assert shown == [
        {
            "title": f"Laporan {number}: diverifikasi operator",
            "body": "Gorong-gorong tersumbat\nStatus: Diverifikasi",
            "tag": number,
            "url": f"/laporan/{number}",
        }
    ]
    assert citizen.evaluate("window.__permissionAsks") == 0
    status = run_async(lambda: Complaint.select(Complaint.status).first())["status"]
    assert status == "verified"
