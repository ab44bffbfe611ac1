"""Writing notifications into the outbox, inside the caller's transaction.

Call these from within the ``write_transaction()`` of the event that causes them: the notification
rows then commit or roll back with the event, so nobody is told about a change that did not
happen, and no change goes untold. The worker (``delivery.py``) sends them later.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

from db.tables import Complaint, Notification, PushSubscription
from web.notifications.rules import (
    CITIZEN,
    OPD,
    OPERATORS,
    SUPERVISORS,
    WHO_IS_TOLD,
    Message,
    TicketFacts,
    audiences,
    report_message,
    ticket_message,
)
from web.settings import get_settings

STAFF_ROLE = {OPD: "opd_staff", OPERATORS: "operator", SUPERVISORS: "supervisor"}

# Shown instead of the title of a "rahasia" ticket (kept in Indonesian, as all payloads).
CONFIDENTIAL_TITLE = "Laporan rahasia"


def _row(message: Message, *, now: datetime, kind: str, **target) -> Notification:
    return Notification(
        channel=target.pop("channel", "push"),
        kind=kind,
        title=message.title,
        body=message.body,
        url=message.url,
        urgency=message.urgency,
        ttl_seconds=message.ttl_seconds,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        **target,
    )


async def _staff_subscriptions(audience: str, *, opd_id: int | None, actor_staff: int | None):
    """Push subscriptions of active staff in ``audience`` (one query), the actor left out."""
    where = (PushSubscription.staff.role == STAFF_ROLE[audience]) & (
        PushSubscription.staff.active == True
    )
    if audience == OPD:
        where &= PushSubscription.staff.opd == opd_id
    if actor_staff is not None:
        where &= PushSubscription.staff != actor_staff
    return await PushSubscription.select(PushSubscription.id, PushSubscription.staff).where(where)


async def notify_ticket_event(
    complaint_id: int,
    kind: str,
    *,
    now: datetime,
    actor_citizen: int | None = None,
    actor_staff: int | None = None,
    whatsapp_fallback: bool | None = None,
) -> int:
    """Queue what ``kind`` (a timeline event kind) on this ticket means for each recipient.

    One row per push subscription of each recipient; a citizen without any subscription gets one
    WhatsApp row when the fallback is on (``whatsapp_fallback``, else the setting). The actor is
    never told about their own action. Returns the number of rows written.
    """
    if not any(row.kind == kind for row in WHO_IS_TOLD):
        return 0  # internal notes and the like: nobody is told, no query needed
    ticket = (
        await Complaint.select(
            Complaint.number,
            Complaint.title,
            Complaint.status,
            Complaint.citizen,
            Complaint.opd,
            Complaint.channel,
            Complaint.privacy,
        )
        .where(Complaint.id == complaint_id)
        .first()
    )
    if ticket is None:
        return 0
    told = audiences(kind, channel=ticket["channel"])
    # A confidential ticket's title can say more than its reporter wants a lock screen to show.
    title = ticket["title"] if ticket["privacy"] != "rahasia" else CONFIDENTIAL_TITLE
    facts = TicketFacts(number=ticket["number"], title=title, status=ticket["status"])
    rows: list[Notification] = []

    citizen_id = ticket["citizen"]
    if CITIZEN in told and citizen_id is not None and citizen_id != actor_citizen:
        message = ticket_message(kind, CITIZEN, facts)
        subscriptions = await PushSubscription.select(PushSubscription.id).where(
            PushSubscription.citizen == citizen_id
        )
        target = {"citizen": citizen_id, "complaint": complaint_id}
        rows += [
            _row(message, now=now, kind=kind, subscription=s["id"], **target) for s in subscriptions
        ]
        if whatsapp_fallback is None:
            whatsapp_fallback = get_settings().notify_whatsapp_fallback
        if not subscriptions and whatsapp_fallback:
            # The template carries the number and the step; the body keeps the step for it.
            whatsapp = dataclasses.replace(message, body=message.step)
            rows.append(_row(whatsapp, now=now, kind=kind, channel="whatsapp", **target))

    for audience in (OPD, OPERATORS, SUPERVISORS):
        if audience not in told or (audience == OPD and ticket["opd"] is None):
            continue
        message = ticket_message(kind, audience, facts)
        subscriptions = await _staff_subscriptions(
            audience, opd_id=ticket["opd"], actor_staff=actor_staff
        )
        rows += [
            _row(
                message,
                now=now,
                kind=kind,
                subscription=s["id"],
                staff=s["staff"],
                complaint=complaint_id,
            )
            for s in subscriptions
        ]

    if rows:
        await Notification.insert(*rows)
    return len(rows)


async def notify_report_ready(day: date, *, now: datetime) -> int:
    """Tell supervisors that the daily report for ``day`` is ready; returns rows written."""
    message = report_message(day)
    subscriptions = await _staff_subscriptions(SUPERVISORS, opd_id=None, actor_staff=None)
    rows = [
        _row(message, now=now, kind="report_ready", subscription=s["id"], staff=s["staff"])
        for s in subscriptions
    ]
    if rows:
        await Notification.insert(*rows)
    return len(rows)
