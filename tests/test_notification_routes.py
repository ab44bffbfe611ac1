"""Turning notifications on and off over HTTP: the key, saving and moving a subscription, removing
it, the device list, and what is refused (bad input, no sign-in, no CSRF token)."""

from __future__ import annotations

import base64

from db.tables import Citizen
from tests.factories import SAFARI_IPHONE, complaint_form, post_json, subscriptions
from tests.fake_push import FakePushService
from tests.helpers import csrf, db, post_form, register, soup, valid_nik
from tests.html import has
from tests.staff_helpers import make_staff, staff_sign_in
from web.notifications.vapid import vapid_keys

ENDPOINT = "https://fcm.googleapis.com/fcm/send/device-one"


def signed_in_citizen(make_client):
    client = make_client()
    register(client)
    return client


def test_the_public_key_is_the_servers(client, settings):
    answer = client.get("/notifikasi/kunci")
    key = answer.json()["publicKey"]
    assert key == vapid_keys(settings).public_key
    raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    assert len(raw) == 65 and raw[0] == 4  # an uncompressed P-256 point


def test_save_move_and_remove_a_subscription(make_client):
    citizen = signed_in_citizen(make_client)
    browser = FakePushService.keys_for(ENDPOINT)
    saved = post_json(citizen, "/notifikasi/langganan", browser.as_json())
    assert saved.status_code == 201
    assert saved.json()["device"] == "Chrome · Android"
    [row] = subscriptions(citizen)
    citizen_id = db(citizen, lambda: Citizen.select(Citizen.id).first())["id"]
    assert (row["endpoint"], row["p256dh"], row["auth"]) == (
        ENDPOINT,
        browser.p256dh,
        browser.auth,
    )
    assert (row["citizen"], row["staff"], row["device"]) == (citizen_id, None, "Chrome · Android")

    # Sent again (a new key after the browser re-subscribed): still one row, updated.
    renewed = FakePushService.keys_for(ENDPOINT)
    assert post_json(citizen, "/notifikasi/langganan", renewed.as_json()).status_code == 201
    [row] = subscriptions(citizen)
    assert row["p256dh"] == renewed.p256dh

    # Someone else signs in on the same phone and turns notifications on: the phone moves to them.
    operator = make_client()
    staff = make_staff(operator, "operator")
    staff_sign_in(operator, "operator-kota")
    moved = post_json(
        operator, "/notifikasi/langganan", renewed.as_json(), user_agent=SAFARI_IPHONE
    )
    assert moved.status_code == 201
    [row] = subscriptions(citizen)
    assert (row["citizen"], row["staff"], row["device"]) == (None, staff["id"], "Safari · iPhone")

    # Only its owner can remove it.
    gone = post_json(citizen, "/notifikasi/langganan/hapus", {"endpoint": ENDPOINT})
    assert gone.json() == {"removed": False}
    assert len(subscriptions(citizen)) == 1
    gone = post_json(operator, "/notifikasi/langganan/hapus", {"endpoint": ENDPOINT})
    assert gone.json() == {"removed": True}
    assert subscriptions(citizen) == []


def test_bad_input_is_refused_with_indonesian_messages(make_client):
    citizen = signed_in_citizen(make_client)
    good = FakePushService.keys_for(ENDPOINT).as_json()
    cases = [
        ({**good, "endpoint": "http://push.example.com/x"}, "endpoint", "harus alamat https"),
        ({**good, "keys": {"p256dh": "abc", "auth": good["keys"]["auth"]}}, "p256dh", "p256dh"),
        ({**good, "keys": {"p256dh": good["keys"]["p256dh"], "auth": "abc"}}, "auth", "auth"),
        (["not", "an", "object"], "__all__", "tidak terbaca"),
    ]
    for data, field, words in cases:
        refused = post_json(citizen, "/notifikasi/langganan", data)
        assert refused.status_code == 400, data
        assert words in refused.json()["errors"][field]
    not_json = citizen.post(
        "/notifikasi/langganan",
        content=b"endpoint=x",
        headers={"x-csrftoken": csrf(citizen), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert not_json.status_code == 400 and "tidak terbaca" in not_json.json()["errors"]["__all__"]
    # The loopback exception for tests: plain HTTP to this machine, outside production only.
    local = {**good, "endpoint": "http://127.0.0.1:9999/push/1"}
    assert post_json(citizen, "/notifikasi/langganan", local).status_code == 201
    assert len(subscriptions(citizen)) == 1


def test_sign_in_and_csrf_token_are_required(make_client):
    stranger = make_client()
    data = FakePushService.keys_for(ENDPOINT).as_json()
    refused = post_json(stranger, "/notifikasi/langganan", data)
    assert refused.status_code == 401 and "Masuk" in refused.json()["errors"]["__all__"]
    assert stranger.get("/notifikasi/perangkat").status_code == 401
    assert (
        post_json(stranger, "/notifikasi/langganan/hapus", {"endpoint": ENDPOINT}).status_code
        == 401
    )

    citizen = signed_in_citizen(make_client)
    no_token = post_json(citizen, "/notifikasi/langganan", data, token=False)
    assert no_token.status_code == 403
    assert subscriptions(citizen) == []


def test_the_device_list_marks_this_device_and_removes_devices(make_client):
    citizen = signed_in_citizen(make_client)
    phone = FakePushService.keys_for(ENDPOINT)
    laptop = FakePushService.keys_for("https://updates.push.services.mozilla.com/wpush/v2/abc")
    post_json(citizen, "/notifikasi/langganan", phone.as_json())
    post_json(citizen, "/notifikasi/langganan", laptop.as_json(), user_agent="Firefox Linux")

    fragment = citizen.get(
        "/notifikasi/perangkat", headers={"HX-Request": "true", "X-Push-Endpoint": ENDPOINT}
    )
    assert fragment.status_code == 200 and not has(fragment, "html")
    items = soup(fragment).select(".device-list li")
    assert len(items) == 2
    this = [li for li in items if "perangkat ini" in li.get_text()]
    assert len(this) == 1 and "Chrome · Android" in this[0].get_text()
    assert soup(fragment).select("[data-push-offer]") == []  # this browser is already registered
    assert citizen.get(
        "/notifikasi/perangkat", headers={"Accept": "application/json", "X-Push-Endpoint": ENDPOINT}
    ).json() == {"this_device": True, "devices": 2}
    other = citizen.get("/notifikasi/perangkat", headers={"HX-Request": "true"})
    assert soup(other).select("[data-push-offer] [data-push-enable]")  # offered on this browser

    # Someone else cannot remove my devices, even knowing the id.
    laptop_id = int(items[0]["data-device-id"])
    intruder = make_client()
    register(intruder, nik=valid_nik(2), phone="0812-9999-0000", name="Orang Lain")
    response = post_form(
        intruder, f"/notifikasi/perangkat/{laptop_id}/hapus", {}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/akun"
    assert len(subscriptions(citizen)) == 2

    removed = post_form(
        citizen,
        f"/notifikasi/perangkat/{laptop_id}/hapus",
        {},
        headers_extra={"HX-Request": "true", "X-Push-Endpoint": ENDPOINT},
    )
    assert len(soup(removed).select(".device-list li")) == 1
    assert [row["endpoint"] for row in subscriptions(citizen)] == [ENDPOINT]


def test_the_offer_appears_after_filing_on_the_account_page_and_for_staff(make_client):
    citizen = signed_in_citizen(make_client)
    filed = post_form(citizen, "/lapor", complaint_form())
    offer = soup(filed).select_one("[data-push-offer=after-filing]")
    assert offer is not None and offer.has_attr("hidden")  # app.js decides whether to show it
    assert offer.select_one("button[data-push-enable]").get_text(strip=True) == (
        "Aktifkan notifikasi"
    )
    # Not on a later visit of the same ticket, nor on pages opened without an action.
    assert soup(citizen.get(filed.url.path)).select("[data-push-offer]") == []
    assert soup(citizen.get("/lapor")).select("[data-push-offer]") == []
    account = soup(citizen.get("/akun"))
    assert account.select_one("[data-push-devices][hx-get='/notifikasi/perangkat']") is not None

    operator = make_client()
    make_staff(operator, "opd_staff", opd_slug="pupr")
    staff_sign_in(operator, "opd_staff-pupr")
    home = soup(operator.get("/opd"))
    assert home.select_one("[data-push-offer=after-sign-in]") is not None
    assert home.select_one("a[href='/staf/notifikasi']") is not None
    page = soup(operator.get("/staf/notifikasi"))
    assert page.select_one("[data-push-devices]") is not None
    assert soup(operator.get("/staf/masuk")).select_one("form[data-push-sign-in]") is not None


def test_signing_out_forgets_this_device_only(make_client):
    citizen = signed_in_citizen(make_client)
    other = "https://fcm.googleapis.com/fcm/send/device-two"
    for endpoint in (ENDPOINT, other):
        browser = FakePushService.keys_for(endpoint)
        assert post_json(citizen, "/notifikasi/langganan", browser.as_json()).status_code == 201
    # The sign-out form as app.js fills it on this phone.
    post_form(citizen, "/keluar", {"push_endpoint": ENDPOINT})
    assert [row["endpoint"] for row in subscriptions(citizen)] == [other]

    staff = make_client()
    make_staff(staff, "operator")
    staff_sign_in(staff, "operator-kota")
    browser = FakePushService.keys_for(ENDPOINT)
    assert post_json(staff, "/notifikasi/langganan", browser.as_json()).status_code == 201
    post_form(staff, "/staf/keluar", {"push_endpoint": "https://push.example/someone-elses"})
    assert ENDPOINT in [row["endpoint"] for row in subscriptions(staff)]  # not this browser's
    staff_sign_in(staff, "operator-kota")
    post_form(staff, "/staf/keluar", {"push_endpoint": ENDPOINT})
    assert [row["endpoint"] for row in subscriptions(staff)] == [other]


def test_one_person_keeps_at_most_the_newest_devices(make_client):
    citizen = make_client(push_max_devices=3)
    register(citizen)
    endpoints = [f"https://fcm.googleapis.com/fcm/send/device-{n}" for n in range(5)]
    for endpoint in endpoints[:4]:
        saved = post_json(
            citizen, "/notifikasi/langganan", FakePushService.keys_for(endpoint).as_json()
        )
        assert saved.status_code == 201
    # The fourth replaced the one turned on longest ago.
    assert [row["endpoint"] for row in subscriptions(citizen)] == endpoints[1:4]
    # A phone re-subscribing with its endpoint keeps its place and pushes out nobody...
    again = post_json(
        citizen, "/notifikasi/langganan", FakePushService.keys_for(endpoints[1]).as_json()
    )
    assert again.status_code == 201
    assert sorted(row["endpoint"] for row in subscriptions(citizen)) == endpoints[1:4]
    # ...and, being the newest now, stays when the next new device comes.
    post_json(citizen, "/notifikasi/langganan", FakePushService.keys_for(endpoints[4]).as_json())
    assert sorted(row["endpoint"] for row in subscriptions(citizen)) == [
        endpoints[1],
        endpoints[3],
        endpoints[4],
    ]


def test_turning_notifications_on_is_limited_per_person(make_client):
    citizen = make_client(push_subscribe_per_hour=2)
    register(citizen)
    for n in range(2):
        endpoint = f"https://fcm.googleapis.com/fcm/send/often-{n}"
        assert (
            post_json(
                citizen, "/notifikasi/langganan", FakePushService.keys_for(endpoint).as_json()
            ).status_code
            == 201
        )
    refused = post_json(
        citizen,
        "/notifikasi/langganan",
        FakePushService.keys_for("https://fcm.googleapis.com/fcm/send/often-9").as_json(),
    )
    assert refused.status_code == 429
    assert "Terlalu sering mengaktifkan notifikasi" in refused.json()["errors"]["__all__"]
    assert len(subscriptions(citizen)) == 2
    # Another person has their own allowance.
    other = make_client()
    register(other, nik=valid_nik(77), phone="081299990077")
    assert (
        post_json(
            other,
            "/notifikasi/langganan",
            FakePushService.keys_for("https://fcm.googleapis.com/fcm/send/other").as_json(),
        ).status_code
        == 201
    )
