"""Web Push endpoints come from browsers, so anyone signed in chooses where our server connects.
Only push services on public addresses (or, when set, those in ADUAN_PUSH_ALLOWED_HOSTS) are
accepted when subscribing, and again when sending; redirects are never followed."""

from __future__ import annotations

import pytest

from db.tables import PushSubscription
from tests.factories import (
    add_subscription,
    deliver,
    notification,
    only_the_citizens_verify,
    post_json,
    subscriptions,
)
from tests.fake_push import FakePushService
from tests.helpers import db, register
from web.notifications.endpoints import pinned_session

INTERNAL = [
    "https://127.0.0.1/push/x",
    "https://127.8.8.8:8443/push/x",
    "https://169.254.169.254/latest/meta-data/",  # cloud metadata
    "https://10.0.0.1/push/x",
    "https://172.16.5.4/push/x",
    "https://192.168.1.1/push/x",
    "https://100.64.0.1/push/x",  # carrier-grade NAT
    "https://0.0.0.0/push/x",
    "https://224.0.0.1/push/x",
    "https://[::1]/push/x",
    "https://[fe80::1]/push/x",
    "https://[fd00::1]/push/x",
    "https://[::ffff:10.0.0.1]/push/x",  # IPv4-mapped
    "https://[::ffff:127.0.0.1]/push/x",
    "https://[2002:a00:1::]/push/x",  # 6to4 of 10.0.0.1
    "https://[64:ff9b::a9fe:a9fe]/push/x",  # NAT64 of 169.254.169.254
    "https://[64:ff9b:1::808:808]/push/x",  # local-use NAT64: maps to wherever the operator chose
    "https://[::ffff:0:a00:1]/push/x",  # IPv4-translated 10.0.0.1
    "https://[::ffff:0:7f00:1]/push/x",  # IPv4-translated 127.0.0.1
    "https://[::a9fe:a9fe]/push/x",  # IPv4-compatible 169.254.169.254
    "https://[::c0a8:101]/push/x",  # IPv4-compatible 192.168.1.1
    "https://localhost/push/x",  # a name that resolves to loopback
    "https://2130706433/push/x",  # 127.0.0.1 as one number
]


def subscribe(client, endpoint):
    return post_json(client, "/notifikasi/langganan", FakePushService.keys_for(endpoint).as_json())


@pytest.mark.parametrize("endpoint", INTERNAL)
def test_endpoints_on_internal_addresses_are_refused(make_client, endpoint):
    citizen = make_client(push_allowed_hosts="")
    register(citizen)
    refused = subscribe(citizen, endpoint)
    assert refused.status_code == 400, endpoint
    assert "ditolak" in refused.json()["errors"]["endpoint"]
    assert subscriptions(citizen) == []


def test_a_public_address_is_accepted_by_default(make_client):
    citizen = make_client(push_allowed_hosts="")
    register(citizen)
    assert subscribe(citizen, "https://8.8.8.8/push/x").status_code == 201
    assert subscribe(citizen, "https://[2001:4860:4860::8888]/push/y").status_code == 201
    # Plain http is for listed test services only.
    refused = subscribe(citizen, "http://8.8.4.4/push/z")
    assert refused.status_code == 400 and "https" in refused.json()["errors"]["endpoint"]
    assert len(subscriptions(citizen)) == 2


def test_with_an_allow_list_only_listed_push_services_are_accepted(make_client):
    citizen = make_client(push_allowed_hosts="fcm.googleapis.com, *.push.services.mozilla.com")
    register(citizen)
    assert subscribe(citizen, "https://fcm.googleapis.com/fcm/send/a").status_code == 201
    mozilla = "https://updates.push.services.mozilla.com/wpush/v2/b"
    assert subscribe(citizen, mozilla).status_code == 201
    for endpoint in (
        "https://8.8.8.8/push/x",  # public, but not a listed service
        "https://127.0.0.1/push/x",
        "https://fcm.googleapis.com.evil.example/x",
        "https://push.services.mozilla.com.evil.example/x",
        "https://evilfcm.googleapis.com/x",
    ):
        refused = subscribe(citizen, endpoint)
        assert refused.status_code == 400, endpoint
        assert "ditolak" in refused.json()["errors"]["endpoint"], endpoint
    assert len(subscriptions(citizen)) == 2


def test_a_stored_loopback_subscription_is_never_contacted(world, settings):
    """Stored before the rule (or by a route that skipped it): the sender checks again."""
    only_the_citizens_verify(world)
    deliver(world, settings, push_allowed_hosts="")
    assert world.push.requests == []
    row = notification(world)
    assert row["status"] == "gone" and "refused" in row["last_error"]
    remaining = db(world.client, lambda: PushSubscription.select(PushSubscription.citizen))
    assert world.citizen_id not in {r["citizen"] for r in remaining}

    # The same with the stand-in service listed: it is contacted (so the check above can fail).
    add_subscription(world.client, world.push.subscription("again"), citizen=world.citizen_id)
    only_the_citizens_verify(world)
    deliver(world, settings, push_allowed_hosts="127.0.0.1")
    assert len(world.push.accepted) == 1


def test_redirects_from_a_push_service_are_not_followed(world, settings):
    elsewhere = FakePushService().start()
    try:
        only_the_citizens_verify(world)
        world.push.answer((307, {"Location": elsewhere.url + "/push/internal"}))
        deliver(world, settings)
        assert len(world.push.requests) == 1
        assert elsewhere.requests == []
        assert notification(world)["status"] == "failed"
    finally:
        elsewhere.stop()


def test_the_sender_connects_to_the_checked_address_only(push_service):
    """DNS rebinding: the name is not looked up again for the connection."""
    keys = push_service.subscription("pinned")
    port = push_service.url.rsplit(":", 1)[1]
    path = keys.endpoint.split(port, 1)[1]
    with pinned_session("127.0.0.1") as session:
        # push.invalid resolves nowhere; the pinned address is used, the name goes in Host.
        answer = session.post(f"http://push.invalid:{port}{path}", data=b"", timeout=5)
    assert answer.status_code == 201
    [request] = push_service.requests
    assert request.headers["Host"] == f"push.invalid:{port}"


def test_a_dns_check_past_its_time_is_answered_try_again_later(make_client):
    """The check's look-up has ADUAN_PUSH_DNS_TIMEOUT_SECONDS; at 0 every look-up is too slow."""
    citizen = make_client(push_allowed_hosts="", push_dns_timeout_seconds=0)
    register(citizen)
    slow = subscribe(citizen, "https://8.8.8.8/push/x")
    assert slow.status_code == 400
    assert "tidak dapat dihubungi saat ini" in slow.json()["errors"]["endpoint"]
    assert subscriptions(citizen) == []
