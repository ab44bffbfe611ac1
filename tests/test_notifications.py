"""Notifications end to end with the real database: written with the event that causes them, then
sent by ``deliver_due`` over real HTTP to a fake push service that decrypts what arrives."""

from __future__ import annotations

import asyncio
import base64
import json
import stat
from datetime import UTC, date, datetime, timedelta

import pytest
from py_vapid import Vapid02

from db.tables import (
    Citizen,
    Complaint,
    Notification,
    PushSubscription,
    TimelineEvent,
)
from tests.factories import (
    add_subscription,
    complaint_form,
    deliver,
    do,
    file_ticket,
    notification,
    only_the_citizens_verify,
    staff_actor,
)
from tests.helpers import DEMO_PHONE_E164, db, post_form, register
from tests.staff_helpers import make_staff, staff_sign_in
from web.messaging.messenger import DevMessenger, WhatsAppCloudMessenger
from web.notifications import notify_report_ready, notify_ticket_event
from web.notifications.delivery import deliver_due, push_payload
from web.notifications.vapid import KEY_FILE, vapid_keys
from web.settings import SettingsError, load_settings
from web.workflow.service import Actor


def told(world, kind) -> set[str]:
    rows = db(
        world.client,
        lambda: Notification.select(Notification.subscription).where(Notification.kind == kind),
    )
    return {world.names[row["subscription"]] for row in rows}


def ticket_id(world, number) -> int:
    return db(
        world.client,
        lambda: Complaint.select(Complaint.id).where(Complaint.number == number).first(),
    )["id"]


# --- Who is told what ---------------------------------------------------------------------------


def test_who_is_told_through_a_tickets_life(world):
    number = file_ticket(world.client)
    assert told(world, "created") == {"operator", "operator2"}  # not the citizen: their own act
    operator = staff_actor(world, "operator")
    do(world, number, "verify", operator)
    assert told(world, "verify") == {"citizen"}
    do(world, number, "add_note", operator, note="cek lokasi dulu")
    assert told(world, "add_note") == set()  # internal notes: nobody, the citizen least of all
    do(world, number, "dispatch", operator, opd_id=world.pupr)
    assert told(world, "dispatch") == {"citizen", "pupr"}  # not DLH's staff
    pupr = staff_actor(world, "pupr")
    do(world, number, "start", pupr)
    assert told(world, "start") == {"citizen"}
    do(world, number, "return_to_operator", pupr, note="bukan wewenang PUPR")
    assert told(world, "return_to_operator") == {"citizen", "operator", "operator2"}
    do(world, number, "dispatch", staff_actor(world, "operator2"), opd_id=world.pupr)
    do(world, number, "resolve", pupr, note="sudah ditambal")
    assert told(world, "resolve") == {"citizen"}
    do(
        world,
        number,
        "reopen",
        Actor(kind="citizen", id=world.citizen_id, role="citizen"),
        note="masih berlubang",
    )
    assert told(world, "reopen") == {"operator", "operator2"}  # the citizen did it

    now = datetime.now(UTC)
    complaint = ticket_id(world, number)
    db(world.client, lambda: notify_ticket_event(complaint, "sla_near_breach", now=now))
    assert told(world, "sla_near_breach") == {"pupr"}
    db(world.client, lambda: notify_ticket_event(complaint, "sla_overdue", now=now))
    assert told(world, "sla_overdue") == {"citizen", "supervisor"}
    db(world.client, lambda: notify_report_ready(date(2026, 11, 23), now=now))
    assert told(world, "report_ready") == {"supervisor"}
    report = db(
        world.client,
        lambda: Notification.select().where(Notification.kind == "report_ready").first(),
    )
    assert report["url"] == "/pimpinan/laporan?tanggal=2026-11-23"

    rows = db(world.client, lambda: Notification.select().where(Notification.kind == "dispatch"))
    urls = {world.names[row["subscription"]]: row["url"] for row in rows}
    assert urls["citizen"] == f"/laporan/{number}" and urls["pupr"] == f"/opd/tiket/{number}"


def test_an_operator_is_not_told_about_the_lapor_ticket_they_typed_in(world, make_client):
    operator = make_client()
    staff_sign_in(operator, "operator-kota")
    form = complaint_form(channel="lapor", reporter_name="Pelapor SP4N", reporter_contact="")
    assert post_form(operator, "/operator/baru", form).status_code == 200
    assert told(world, "created") == {"operator2"}
    phone = complaint_form(channel="phone", reporter_name="Ibu Sari", reporter_contact="")
    assert post_form(operator, "/operator/baru", phone).status_code == 200
    assert len(db(world.client, lambda: Notification.select())) == 1  # desk tickets: nobody


@pytest.mark.parametrize("privacy", ["anonymous", "confidential"])
def test_no_payload_names_the_reporter(world, settings, privacy):
    number = file_ticket(world.client, privacy=privacy, title="Pungli di kantor kelurahan")
    operator = staff_actor(world, "operator")
    do(world, number, "verify", operator)
    do(world, number, "dispatch", operator, opd_id=world.pupr)
    complaint = ticket_id(world, number)
    now = datetime.now(UTC)
    for kind in ("sla_near_breach", "sla_overdue"):
        db(world.client, lambda kind=kind: notify_ticket_event(complaint, kind, now=now))
    citizen = db(world.client, lambda: Citizen.select().first())
    deliver(world, settings)
    payloads = [r.decrypted for r in world.push.requests]
    assert {"citizen", "pupr", "supervisor", "operator"} <= {
        r.path.split("/")[2].rsplit("-", 1)[0] for r in world.push.requests
    }
    text = json.dumps(payloads, ensure_ascii=False)
    assert number in text
    # Anonymous tickets are public, their titles too; a confidential one's title stays off the
    # lock screen.
    assert ("Pungli di kantor kelurahan" in text) == (privacy == "anonymous")
    for personal in (
        citizen["name"],
        "Rahmat",
        citizen["phone"],
        citizen["phone"].removeprefix("+62"),
        citizen["nik_masked"],
    ):
        assert personal not in text


# --- Same transaction as the event ----------------------------------------------------------------


def test_a_failure_after_enqueueing_leaves_neither_event_nor_notification(world, monkeypatch):
    number = file_ticket(world.client)
    before = len(db(world.client, lambda: Notification.select()))

    async def broken_audit(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("web.workflow.service.audit.record", broken_audit)
    with pytest.raises(RuntimeError):
        do(world, number, "verify", staff_actor(world, "operator"))
    assert len(db(world.client, lambda: Notification.select())) == before
    assert not db(
        world.client, lambda: TimelineEvent.exists().where(TimelineEvent.kind == "verify")
    )
    assert db(world.client, lambda: Complaint.select(Complaint.status).first())["status"] == (
        "received"
    )


def test_a_failure_to_enqueue_rolls_the_event_back(world, monkeypatch):
    number = file_ticket(world.client)

    def broken(*args, **kwargs):
        raise RuntimeError("cannot build the message")

    monkeypatch.setattr("web.notifications.outbox.ticket_message", broken)
    with pytest.raises(RuntimeError):
        do(world, number, "verify", staff_actor(world, "operator"))
    assert not db(
        world.client, lambda: TimelineEvent.exists().where(TimelineEvent.kind == "verify")
    )
    # Filing too: no ticket without its notifications.
    response = post_form(world.client, "/lapor", complaint_form(title="Tidak akan tersimpan"))
    assert response.status_code == 503  # a fault on our side: the outbox retries it by itself
    assert response.headers["retry-after"]
    assert db(world.client, lambda: Complaint.count()) == 1


def test_enqueueing_runs_one_query_per_audience(world):
    from tests.query_counter import count_queries

    number = file_ticket(world.client)
    operator = staff_actor(world, "operator")
    do(world, number, "verify", operator)
    complaint = ticket_id(world, number)
    for i in range(5):  # more PUPR phones must not mean more queries
        add_subscription(
            world.client, world.push.subscription(f"pupr{i}"), staff=world.staff["pupr"]["id"]
        )
    do(world, number, "dispatch", operator, opd_id=world.pupr)
    with count_queries() as seen:
        written = db(
            world.client, lambda: notify_ticket_event(complaint, "dispatch", now=datetime.now(UTC))
        )
    assert written == 1 + 6
    # the ticket, the citizen's phones, the OPD's phones, one bulk insert
    assert len(seen) == 4, seen


# --- Delivery over HTTP ---------------------------------------------------------------------------


def test_push_arrives_encrypted_signed_and_with_ttl_and_urgency(world, settings):
    number = file_ticket(world.client)
    do(world, number, "verify", staff_actor(world, "operator"))
    db(world.client, lambda: Notification.delete().where(Notification.kind == "created"))
    assert deliver(world, settings) == 1

    [request] = world.push.requests
    assert request.path == world.keys["citizen"].endpoint.removeprefix(world.push.url)
    assert request.decrypted == {
        "title": f"Laporan {number}: diverifikasi operator",
        "body": "Jalan berlubang dekat sekolah\nStatus: Diverifikasi",
        "url": f"/laporan/{number}",
        "tag": number,
        "kind": "verify",
    }
    headers = {name.lower(): value for name, value in request.headers.items()}
    # What is left of the 3-day TTL since the notification was queued (a moment ago).
    assert 3 * 24 * 3600 - 60 < int(headers["ttl"]) <= 3 * 24 * 3600
    assert headers["urgency"] == "normal"
    assert headers["topic"] == number
    assert headers["content-encoding"] == "aes128gcm"
    # VAPID (RFC 8292): signed with our key, for this push service's origin.
    authorization = headers["authorization"]
    assert authorization.startswith("vapid t=")
    assert Vapid02.verify(authorization)
    params = dict(part.split("=", 1) for part in authorization.split(" ", 1)[1].split(","))
    assert params["k"] == vapid_keys(settings).public_key
    claims_part = params["t"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(claims_part + "=" * (-len(claims_part) % 4)))
    assert claims["aud"] == world.push.url and claims["sub"].startswith("mailto:")

    row = db(
        world.client, lambda: Notification.select().where(Notification.kind == "verify").first()
    )
    assert (row["status"], row["attempts"], row["claimed_until"]) == ("sent", 1, None)
    assert row["sent_at"] is not None
    subscription = db(
        world.client,
        lambda: (
            PushSubscription.select().where(PushSubscription.citizen == world.citizen_id).first()
        ),
    )
    assert subscription["last_sent_at"] is not None
    assert deliver(world, settings) == 0  # nothing left


def test_410_gone_removes_the_subscription(world, settings):
    number = only_the_citizens_verify(world)
    complaint = ticket_id(world, number)
    # A second message for the same phone is queued, but due later.
    later = datetime.now(UTC) + timedelta(hours=1)
    db(world.client, lambda: notify_ticket_event(complaint, "sla_overdue", now=later))
    world.push.answer(410)
    assert deliver(world, settings) == 1
    assert notification(world)["status"] == "gone"
    assert not db(
        world.client,
        lambda: PushSubscription.exists().where(PushSubscription.citizen == world.citizen_id),
    )
    overdue = db(
        world.client,
        lambda: (
            Notification.select()
            .where(Notification.kind == "sla_overdue")
            .where(Notification.citizen == world.citizen_id)
            .first()
        ),
    )
    assert overdue["status"] == "gone" and overdue["subscription"] is None


def test_when_the_last_device_is_gone_whatsapp_takes_over(world, settings):
    import dataclasses

    number = only_the_citizens_verify(world)
    world.push.answer(410)
    fallback_on = dataclasses.replace(settings, notify_whatsapp_fallback=True)
    assert deliver(world, fallback_on) == 1
    rows = db(world.client, lambda: Notification.select().where(Notification.channel == "whatsapp"))
    assert len(rows) == 1
    assert (rows[0]["citizen"], rows[0]["kind"], rows[0]["status"]) == (
        world.citizen_id,
        "verify",
        "pending",
    )
    assert rows[0]["body"] == "diverifikasi operator"
    assert ticket_id(world, number) == rows[0]["complaint"]


def test_429_waits_at_least_retry_after(world, settings):
    only_the_citizens_verify(world)
    world.push.answer((429, {"Retry-After": "600"}))
    now = datetime.now(UTC)
    assert deliver(world, settings, now=now) == 1
    row = notification(world)
    assert (row["status"], row["attempts"], row["claimed_until"]) == ("pending", 1, None)
    assert row["next_attempt_at"] >= now + timedelta(seconds=600)
    assert "429" in row["last_error"]
    assert deliver(world, settings, now=now + timedelta(seconds=599)) == 0
    assert deliver(world, settings, now=row["next_attempt_at"]) == 1
    assert notification(world)["status"] == "sent"
    assert len(world.push.requests) == 2


def test_500_backs_off_then_succeeds(world, settings):
    only_the_citizens_verify(world)
    world.push.answer(500, 503)
    now = datetime.now(UTC)
    deliver(world, settings, now=now)
    first = notification(world)
    assert now + timedelta(seconds=15) <= first["next_attempt_at"] <= now + timedelta(seconds=30)
    deliver(world, settings, now=first["next_attempt_at"])
    second = notification(world)
    wait = second["next_attempt_at"] - first["next_attempt_at"]
    assert timedelta(seconds=30) <= wait <= timedelta(seconds=60)  # doubled
    deliver(world, settings, now=second["next_attempt_at"])
    row = notification(world)
    assert (row["status"], row["attempts"]) == ("sent", 3)


def test_after_the_last_attempt_it_is_failed(world, settings):
    only_the_citizens_verify(world)
    world.push.answer(500, 500, 500)
    now = datetime.now(UTC)
    for _ in range(3):
        assert deliver(world, settings, now=now, push_max_attempts=3) == 1
        now = max(now, notification(world)["next_attempt_at"])
    row = notification(world)
    assert row["status"] == "failed" and row["last_error"].startswith("gave up after 3 attempts")
    assert deliver(world, settings, now=now + timedelta(days=1), push_max_attempts=3) == 0


def test_other_refusals_fail_at_once_and_unreachable_services_are_retried(world, settings):
    only_the_citizens_verify(world)
    world.push.answer(400)
    deliver(world, settings)
    row = notification(world)
    assert row["status"] == "failed" and row["last_error"].startswith("400")

    # A push service that does not answer at all: a network error, tried again later.
    number = file_ticket(world.client)
    complaint = ticket_id(world, number)
    db(
        world.client,
        lambda: PushSubscription.update(
            {PushSubscription.endpoint: "http://127.0.0.1:9/push/x"}
        ).where(PushSubscription.citizen == world.citizen_id),
    )
    db(world.client, lambda: Notification.delete(force=True))
    db(world.client, lambda: notify_ticket_event(complaint, "sla_overdue", now=datetime.now(UTC)))
    db(world.client, lambda: Notification.delete().where(Notification.citizen.is_null()))
    deliver(world, settings)
    row = db(world.client, lambda: Notification.select().first())
    assert row["status"] == "pending" and "Connection" in row["last_error"]


def test_a_removed_subscription_is_not_sent_to(world, settings):
    only_the_citizens_verify(world)
    db(
        world.client,
        lambda: PushSubscription.delete().where(PushSubscription.citizen == world.citizen_id),
    )
    assert deliver(world, settings) == 1
    assert notification(world)["status"] == "gone"
    assert world.push.requests == []


@pytest.mark.parametrize("round_", range(2))
def test_two_workers_at_once_never_send_the_same_notification_twice(world, settings, round_):
    world.push.delay = 0.02
    now = datetime.now(UTC)

    async def queue():
        ids = list(world.names)  # spread over every phone
        await Notification.insert(
            *[
                Notification(
                    channel="push",
                    subscription=ids[i % len(ids)],
                    kind="verify",
                    title=f"Uji {i}",
                    body="isi",
                    url="/",
                    urgency="normal",
                    ttl_seconds=3600,
                    next_attempt_at=now,
                    created_at=now,
                )
                for i in range(40)
            ]
        )

    db(world.client, queue)

    async def worker():
        handled = 0
        while (batch := await deliver_due(settings, DevMessenger(), limit=7)) > 0:
            handled += batch
        return handled

    async def two_workers():
        return await asyncio.gather(worker(), worker())

    first, second = db(world.client, two_workers)
    assert first + second == 40 and first > 0 and second > 0
    # A send the loopback server could not take (the machine under load) is rescheduled, not lost:
    # one more pass an hour later picks it up. What must never happen is a title accepted twice.
    later = now + timedelta(hours=1)
    db(world.client, lambda: deliver_due(settings, DevMessenger(), now=later, limit=50))
    titles = [request.decrypted["title"] for request in world.push.accepted]
    assert sorted(titles) == sorted(f"Uji {i}" for i in range(40))
    statuses = {
        row["status"] for row in db(world.client, lambda: Notification.select(Notification.status))
    }
    assert statuses == {"sent"}


# --- WhatsApp for citizens without push -------------------------------------------------------------


def test_whatsapp_fallback_for_citizens_without_push(world, settings, fake_whatsapp):
    db(
        world.client,
        lambda: PushSubscription.delete().where(PushSubscription.citizen == world.citizen_id),
    )
    number = file_ticket(world.client)
    operator = staff_actor(world, "operator")
    do(world, number, "verify", operator)
    assert told(world, "verify") == set()  # the setting is off by default: nothing queued

    do(world, number, "dispatch", operator, opd_id=world.pupr, whatsapp_fallback=True)
    rows = db(world.client, lambda: Notification.select().where(Notification.kind == "dispatch"))
    whatsapp = [row for row in rows if row["channel"] == "whatsapp"]
    assert len(whatsapp) == 1 and whatsapp[0]["citizen"] == world.citizen_id
    assert whatsapp[0]["body"] == "diteruskan ke OPD"

    messenger = WhatsAppCloudMessenger(
        base_url=fake_whatsapp.url,
        token="t",
        sender_id="123",
        otp_template="aduan_otp",
        template_language="id",
        status_template="aduan_status",
    )
    db(world.client, lambda: Notification.delete().where(Notification.channel == "push"))
    assert deliver(world, settings, messenger) == 1
    [request] = fake_whatsapp.requests
    assert request.json["to"] == DEMO_PHONE_E164.removeprefix("+")
    template = request.json["template"]
    assert template["name"] == "aduan_status"
    assert template["components"][0]["parameters"] == [
        {"type": "text", "text": number},
        {"type": "text", "text": "diteruskan ke OPD"},
    ]
    assert (
        db(world.client, lambda: Notification.select(Notification.status).first())["status"]
        == "sent"
    )

    # In development the dev messenger logs it instead.
    dev = DevMessenger()
    complaint = ticket_id(world, number)
    db(
        world.client,
        lambda: notify_ticket_event(
            complaint, "sla_overdue", now=datetime.now(UTC), whatsapp_fallback=True
        ),
    )
    db(world.client, lambda: Notification.delete().where(Notification.channel == "push"))
    deliver(world, settings, dev)
    assert dev.sent == [
        (DEMO_PHONE_E164, f"Laporan {number}: melewati batas waktu, diteruskan ke pimpinan")
    ]


# --- VAPID keys ---------------------------------------------------------------------------------


def test_vapid_key_is_made_once_and_kept(settings, tmp_path):
    import dataclasses

    mine = dataclasses.replace(settings, var_dir=tmp_path / "var")
    first = vapid_keys(mine)
    key_file = tmp_path / "var" / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(base64.urlsafe_b64decode(first.public_key + "=")) == 65
    from web.notifications import vapid

    vapid._load.cache_clear()  # as a restarted process would
    assert vapid_keys(mine).public_key == first.public_key
    assert sorted(p.name for p in key_file.parent.iterdir()) == [KEY_FILE]


def test_vapid_key_from_the_setting(settings):
    import dataclasses

    from web.notifications.vapid import main as print_new_key

    pem = Vapid02()
    pem.generate_keys()
    from_pem = vapid_keys(
        dataclasses.replace(settings, vapid_private_key=pem.private_pem().decode())
    )
    assert from_pem.public_key != vapid_keys(settings).public_key

    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_new_key()
    line = out.getvalue().splitlines()[0]
    raw_key = line.split("=", 1)[1]
    public = out.getvalue().splitlines()[1].rsplit(" ", 1)[1]
    assert vapid_keys(dataclasses.replace(settings, vapid_private_key=raw_key)).public_key == public

    with pytest.raises(SettingsError, match="ADUAN_VAPID_PRIVATE_KEY"):
        vapid_keys(dataclasses.replace(settings, vapid_private_key="not a key"))


def test_production_needs_a_shared_vapid_key_and_a_contact():
    production = {
        "ADUAN_ENV": "production",
        "ADUAN_SECRET_KEY": "a" * 40,
        "ADUAN_NIK_HASH_KEY": "b" * 40,
        "ADUAN_MESSENGER": "whatsapp",
    }
    with pytest.raises(SettingsError, match="ADUAN_VAPID_PRIVATE_KEY"):
        load_settings(production)
    with pytest.raises(SettingsError, match="ADUAN_VAPID_SUBJECT"):
        load_settings({**production, "ADUAN_VAPID_PRIVATE_KEY": "x"})
    with pytest.raises(SettingsError, match="mailto"):
        load_settings({"ADUAN_VAPID_SUBJECT": "admin@example.org"})
    ok = load_settings(
        {**production, "ADUAN_VAPID_PRIVATE_KEY": "x", "ADUAN_VAPID_SUBJECT": "mailto:a@b.id"}
    )
    assert ok.is_production


def test_the_payload_helper_matches_what_is_sent(world, settings):
    number = only_the_citizens_verify(world)
    row = db(
        world.client,
        lambda: Notification.select(
            Notification.all_columns(), Notification.complaint.number.as_alias("number")
        ).first(),
    )
    deliver(world, settings)
    assert world.push.requests[0].decrypted == json.loads(push_payload(row))
    assert number in push_payload(row)


def test_a_retry_sends_only_what_is_left_of_the_ttl():
    from web.notifications.delivery import remaining_ttl

    queued = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
    row = {"created_at": queued, "ttl_seconds": 86400}
    assert remaining_ttl(row, queued) == 86400
    assert remaining_ttl(row, queued + timedelta(hours=6)) == 86400 - 6 * 3600
    assert remaining_ttl(row, queued + timedelta(days=2)) == 0


def test_the_whatsapp_setting_reaches_the_outbox_through_the_pages(make_client):
    """Handlers read ADUAN_NOTIFY_WHATSAPP_FALLBACK and pass it down: no domain code reads it."""
    citizen = make_client(notify_whatsapp_fallback=True)
    register(citizen)
    number = file_ticket(citizen)
    operator = make_client(notify_whatsapp_fallback=True)
    make_staff(operator, "operator")
    staff_sign_in(operator, "operator-kota")
    version = db(operator, lambda: Complaint.select(Complaint.version).first())["version"]
    post_form(
        operator, f"/operator/tiket/{number}/aksi", {"action": "verify", "version": str(version)}
    )
    rows = db(operator, lambda: Notification.select().where(Notification.channel == "whatsapp"))
    assert [(row["kind"], row["body"]) for row in rows] == [("verify", "diverifikasi operator")]
