"""OPD actions sent by the staff phone's outbox (maybe done offline long before): the moment done on
the phone is the event time within bounds, a resend applies once, a changed ticket is a conflict."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

from db.tables import AuditLog, Complaint, TimelineEvent
from tests.factories import operator_act, version_of
from tests.helpers import db, post_form
from tests.staff_helpers import make_staff, staff_sign_in

JSON = {"Accept": "application/json"}


def _opd(make_client):
    client = make_client()
    member = make_staff(client, "opd_staff", opd_slug="pupr")
    staff_sign_in(client, member["username"])
    return client, f"staff:{member['id']}"


def _queued(client, owner, number, action, *, key=None, version=None, done_at=None, **fields):
    key = key or str(uuid.uuid4())
    data = {
        "action": action,
        "version": version if version is not None else version_of(client, number),
        "client_key": key,
        "owner": owner,
        "done_at": str(done_at if done_at is not None else int(time.time() * 1000)),
        **fields,
    }
    response = post_form(client, f"/opd/tiket/{number}/aksi", data, headers_extra=JSON)
    assert response.headers["X-Aduan-Outbox"] == key
    assert response.json()["client_key"] == key
    return response


def _events(client, number, kind):
    async def query():
        ticket = await Complaint.select(Complaint.id).where(Complaint.number == number).first()
        return (
            await TimelineEvent.select(TimelineEvent.created_at)
            .where((TimelineEvent.complaint == ticket["id"]) & (TimelineEvent.kind == kind))
            .output(nested=True)
        )

    return db(client, query)


def _audit(client, action):
    rows = db(client, lambda: AuditLog.select().where(AuditLog.action == action))
    return [json.loads(r["detail"]) for r in rows]


def _dispatched_an_hour_ago(client, number):
    async def shift():
        ticket = await Complaint.select(Complaint.id).where(Complaint.number == number).first()
        for event in await TimelineEvent.select().where(TimelineEvent.complaint == ticket["id"]):
            await TimelineEvent.update(
                {TimelineEvent.created_at: event["created_at"] - timedelta(hours=1)}
            ).where(TimelineEvent.id == event["id"])

    db(client, shift)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_the_phones_moment_is_the_event_time_and_the_audit_keeps_the_arrival(
    make_client, dispatched_ticket
):
    number = dispatched_ticket["number"]
    opd, owner = _opd(make_client)
    _dispatched_an_hour_ago(opd, number)
    done = datetime.now(UTC) - timedelta(minutes=20)  # started offline 20 minutes ago
    started = _queued(opd, owner, number, "start", done_at=_ms(done))
    assert started.status_code == 200, started.text
    body = started.json()
    assert body["applied"] is True and body["clamped"] is None
    assert body["ticket"]["status"] == "in_progress"
    event_at = _events(opd, number, "start")[0]["created_at"]
    assert abs((event_at - done).total_seconds()) < 0.01
    audit = _audit(opd, "complaint.start")[0]
    assert audit["event_at"] == event_at.isoformat()
    arrived = datetime.fromisoformat(audit["arrived_at"])
    assert arrived > event_at and abs((arrived - datetime.now(UTC)).total_seconds()) < 60

    # A phone clock an hour ahead: the arrival time is used, and that is noted.
    future = _queued(
        opd,
        owner,
        number,
        "follow_up",
        note="Sudah ditambal.",
        done_at=_ms(datetime.now(UTC) + timedelta(hours=1)),
    )
    assert future.json()["clamped"] == "future"
    assert _events(opd, number, "follow_up")[0]["created_at"] <= datetime.now(UTC)
    assert _audit(opd, "complaint.follow_up")[0]["event_time_clamped"] == "future"

    # A moment before the ticket's latest event (a year ago): clamped to it, timeline in order.
    past = _queued(
        opd,
        owner,
        number,
        "resolve",
        note="Selesai.",
        done_at=_ms(datetime.now(UTC) - timedelta(days=365)),
    )
    assert past.json()["clamped"] == "before_last_event"
    resolved_at = _events(opd, number, "resolve")[0]["created_at"]
    assert resolved_at >= _events(opd, number, "follow_up")[0]["created_at"]


def test_a_resent_action_is_applied_once(make_client, dispatched_ticket):
    number = dispatched_ticket["number"]
    opd, owner = _opd(make_client)
    key = str(uuid.uuid4())
    version = version_of(opd, number)
    first = _queued(opd, owner, number, "start", key=key, version=version)
    again = _queued(opd, owner, number, "start", key=key, version=version)
    assert first.status_code == again.status_code == 200
    assert again.json()["applied"] is True and again.json()["repeated"] is True
    assert len(_events(opd, number, "start")) == 1
    assert len(_audit(opd, "complaint.start")) == 1


def test_a_ticket_changed_meanwhile_answers_a_conflict_with_its_current_state(
    make_client, dispatched_ticket
):
    number = dispatched_ticket["number"]
    opd, owner = _opd(make_client)
    seen = version_of(opd, number)
    # Meanwhile a colleague on another phone starts it and returns it to the operator.
    colleague = make_client()
    member = make_staff(colleague, "opd_staff", username="rekan-pupr", opd_slug="pupr")
    staff_sign_in(colleague, member["username"])
    data = {"action": "return_to_operator", "version": version_of(colleague, number)}
    data["note"] = "Bukan wewenang PUPR."
    post_form(colleague, f"/opd/tiket/{number}/aksi", data)

    conflict = _queued(opd, owner, number, "start", version=seen)
    assert conflict.status_code == 409
    body = conflict.json()
    assert body["conflict"] is True
    assert "sudah berubah" in body["reason"]
    assert body["ticket"]["status"] == "returned"
    assert body["ticket"]["status_label"] == "Dikembalikan OPD"
    assert _events(opd, number, "start") == []

    # Applied again against the current version: the rules still decide (returned: no start).
    refused = _queued(opd, owner, number, "start", version=str(body["ticket"]["version"]))
    assert refused.status_code == 422 and refused.json()["errors"]["__all__"]
    assert _events(opd, number, "start") == []

    # Sent back to PUPR by the operator: the queued start applies against the new version.
    operator = make_client()
    make_staff(operator, "operator")
    staff_sign_in(operator, "operator-kota")
    pupr = db(
        operator, lambda: Complaint.select(Complaint.opd).where(Complaint.number == number).first()
    )
    operator_act(operator, number, "dispatch", opd=str(pupr["opd"]))
    again = _queued(opd, owner, number, "start", version=version_of(opd, number))
    assert again.status_code == 200 and again.json()["applied"] is True


def test_another_accounts_item_is_refused_before_anything_is_looked_up(
    make_client, dispatched_ticket
):
    number = dispatched_ticket["number"]
    opd, _owner = _opd(make_client)
    other = _queued(opd, "staff:999999", number, "start")
    assert other.status_code == 409 and other.json()["owner_mismatch"] is True
    assert "ticket" not in other.json()
    assert _events(opd, number, "start") == []


def test_akun_names_the_signed_in_staff_account_for_the_outbox(make_client):
    opd, owner = _opd(make_client)
    answer = opd.get("/akun", headers=JSON).json()
    assert answer["signed_in"] is True and answer["account"] == owner
