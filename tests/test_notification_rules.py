"""Who is told what, and the pure parts of delivery and subscriptions: no database, no network."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime

import pytest

from tests.factories import CHROME_ANDROID, SAFARI_IPHONE
from tests.fake_push import FakePushService
from web.forms import FormErrors
from web.i18n import use_locale
from web.notifications.delivery import classify, parse_retry_after, push_payload, retry_delay
from web.notifications.rules import (
    CITIZEN,
    OPD,
    OPERATORS,
    SUPERVISORS,
    WHO_IS_TOLD,
    TicketFacts,
    audiences,
    push_topic,
    report_message,
    ticket_message,
)
from web.notifications.subscriptions import device_label, parse_subscription
from web.notifications.vapid import b64url
from web.workflow.lifecycle import RULES

TICKET = TicketFacts(number="CLG-2026-000123", title="Jalan berlubang", status="dispatched")
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def test_the_citizen_hears_every_public_step_and_no_internal_one():
    for action, rule in RULES.items():
        told = audiences(str(action), channel="pwa")
        assert (CITIZEN in told) == rule.public, action
    assert audiences("add_note", channel="pwa") == frozenset()
    assert CITIZEN in audiences("created", channel="phone")  # filed for them by an operator
    assert CITIZEN in audiences("sla_overdue", channel="pwa")  # public: no waiting without news
    assert CITIZEN not in audiences("sla_near_breach", channel="pwa")  # internal warning


@pytest.mark.parametrize(
    ("kind", "channel", "staff"),
    [
        ("created", "pwa", {OPERATORS}),
        ("created", "lapor", {OPERATORS}),
        ("created", "phone", set()),  # typed in by an operator at the desk
        ("created", "walk_in", set()),
        ("dispatch", "pwa", {OPD}),
        ("return_to_operator", "pwa", {OPERATORS}),
        ("reopen", "pwa", {OPERATORS}),
        ("sla_near_breach", "pwa", {OPD}),
        ("sla_overdue", "pwa", {SUPERVISORS}),
        ("verify", "pwa", set()),
        ("resolve", "pwa", set()),
    ],
)
def test_staff_hear_what_needs_them(kind, channel, staff):
    assert audiences(kind, channel=channel) - {CITIZEN} == staff


def test_each_recipient_gets_its_own_page_urgency_and_lifetime():
    citizen = ticket_message("dispatch", CITIZEN, TICKET)
    assert citizen.url == "/laporan/CLG-2026-000123"
    assert (citizen.urgency, citizen.ttl_seconds) == ("normal", 3 * 24 * 3600)
    assert citizen.title == "Laporan CLG-2026-000123: diteruskan ke OPD"
    assert "Jalan berlubang" in citizen.body and "Didisposisikan" in citizen.body
    opd = ticket_message("dispatch", OPD, TICKET)
    assert (opd.url, opd.urgency) == ("/opd/tiket/CLG-2026-000123", "high")
    assert ticket_message("sla_near_breach", OPD, TICKET).urgency == "high"
    overdue = ticket_message("sla_overdue", SUPERVISORS, TICKET)
    assert (overdue.url, overdue.urgency) == ("/operator/tiket/CLG-2026-000123", "high")
    assert ticket_message("created", OPERATORS, TICKET).url == "/operator/tiket/CLG-2026-000123"
    report = report_message(date(2026, 11, 23))
    assert report.url == "/pimpinan/laporan?tanggal=2026-11-23"
    assert (report.urgency, report.ttl_seconds) == ("low", 24 * 3600)
    with pytest.raises(ValueError):
        ticket_message("add_note", CITIZEN, TICKET)


def test_messages_are_indonesian_whatever_the_request_language():
    with use_locale("en"):
        message = ticket_message("resolve", CITIZEN, TICKET)
    assert message.title == "Laporan CLG-2026-000123: diselesaikan OPD"
    assert "konfirmasi" in message.body


def test_a_message_can_only_say_number_title_and_status():
    # The builder's only input: nothing else about a ticket (reporter, NIK, phone) can leak.
    assert {f.name for f in dataclasses.fields(TicketFacts)} == {"number", "title", "status"}
    kinds = {row.kind for row in WHO_IS_TOLD}
    assert {"created", "dispatch", "sla_near_breach", "sla_overdue"} <= kinds


def test_topic_is_url_safe_and_short():
    assert push_topic("CLG-2026-000123", "verify") == "CLG-2026-000123"
    assert push_topic(None, "report_ready") == "report_ready"
    assert push_topic("A B/C" * 20, "x") == ("ABC" * 20)[:32]


def test_payload_is_what_the_service_worker_reads():
    row = {"title": "T", "body": "B", "url": "/laporan/X", "number": "X", "kind": "verify"}
    assert push_payload(row) == (
        '{"title": "T", "body": "B", "url": "/laporan/X", "tag": "X", "kind": "verify"}'
    )


@pytest.mark.parametrize(
    ("status", "result"),
    [
        (201, "sent"),
        (202, "sent"),
        (404, "gone"),
        (410, "gone"),
        (429, "retry"),
        (500, "retry"),
        (503, "retry"),
        (None, "retry"),  # no answer at all
        (400, "failed"),
        (403, "failed"),  # e.g. a VAPID key the push service does not accept
        (413, "failed"),
    ],
)
def test_push_service_answers(status, result):
    assert classify(status, retry_after=None, now=NOW, error="x").result == result


def test_retry_after_in_seconds_or_as_a_date():
    assert parse_retry_after("120", NOW) == 120
    later = format_datetime(NOW + timedelta(minutes=5), usegmt=True)
    assert parse_retry_after(later, NOW) == 300
    assert parse_retry_after("soon", NOW) is None
    assert classify(429, retry_after="90", now=NOW, error="").retry_after_seconds == 90


def test_backoff_doubles_with_jitter_and_respects_retry_after():
    rng = random.Random(7)
    for attempts, base in ((1, 30), (2, 60), (3, 120), (20, 6 * 3600)):
        delay = retry_delay(attempts, None, rng)
        assert base * 0.5 <= delay <= base
    assert retry_delay(1, 600, rng) == 600  # Retry-After wins over a shorter backoff
    assert retry_delay(1, 10**9, rng) == 24 * 3600  # but not forever


def test_device_labels():
    assert device_label(CHROME_ANDROID) == "Chrome · Android"
    assert device_label(SAFARI_IPHONE) == "Safari · iPhone"
    assert device_label("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Firefox/133.0") == (
        "Firefox · Windows"
    )
    assert device_label("") == ""


BROWSER = FakePushService.keys_for("https://fcm.googleapis.com/fcm/send/abc")
P256DH, AUTH = BROWSER.p256dh, BROWSER.auth


def subscription(**changes):
    data = {
        "endpoint": "https://fcm.googleapis.com/fcm/send/abc",
        "keys": {"p256dh": P256DH, "auth": AUTH},
    }
    data.update(changes)
    return data


def test_a_good_subscription_is_accepted():
    parsed = parse_subscription(subscription())
    assert (parsed.endpoint, parsed.p256dh, parsed.auth) == (
        "https://fcm.googleapis.com/fcm/send/abc",
        P256DH,
        AUTH,
    )
    local = subscription(endpoint="http://127.0.0.1:9999/push/1")
    parsed = parse_subscription(local, allowed=("127.0.0.1",), allow_http=True)
    assert parsed.endpoint.startswith("http://127")


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (subscription(endpoint="http://push.example.com/x"), "endpoint", "https"),
        (subscription(endpoint="http://127.0.0.1/x"), "endpoint", "https"),  # not allow-listed
        (subscription(endpoint="javascript:alert(1)"), "endpoint", "tidak sah"),
        (subscription(endpoint="https://x/" + "a" * 1000), "endpoint", "tidak sah"),
        (subscription(keys={"p256dh": P256DH[:-4], "auth": AUTH}), "p256dh", "p256dh"),
        (  # 65 bytes, but not a point on the P-256 curve
            subscription(keys={"p256dh": b64url(b"\x04" + b"\x00" * 64), "auth": AUTH}),
            "p256dh",
            "p256dh",
        ),
        (subscription(keys={"p256dh": P256DH, "auth": AUTH + "AA"}), "auth", "auth"),
        (subscription(keys={"p256dh": P256DH, "auth": "not base64!"}), "auth", "auth"),
        (subscription(keys=None), "p256dh", "tidak sah"),
        ("just text", "__all__", "tidak terbaca"),
    ],
)
def test_bad_subscriptions_are_refused_with_a_clear_message(data, field, words):
    with pytest.raises(FormErrors) as refused:
        parse_subscription(data)
    assert words in refused.value.errors[field]


def test_the_report_link_is_the_report_pages():
    day = date(2026, 11, 23)
    assert report_message(day).url == f"/pimpinan/laporan?tanggal={day}"
