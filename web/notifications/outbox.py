"""Writing notifications into the outbox, inside the caller's transaction.

Call these from within the ``write_transaction()`` of the event that causes them: the notification
rows then commit or roll back with the event, so nobody is told about a change that did not
happen, and no change goes untold. The worker (``delivery.py``) sends them later.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

from db.tables import Complaint, Notification, PushSubscription
from web.i18n import SOURCE_LOCALE, use_locale
from web.notifications.rules import (
    CITIZEN,
    OPD,
    OPERATORS,
    SUPERVISORS,
    WHO_IS_TOLD,
    Message,
    TicketFacts,
    audiences,
    job_late_message,
    report_message,
    sign_in_attack_message,
    ticket_message,
)
from web.staff.policy import Role
from web.vocabulary import CONFIDENTIAL

STAFF_ROLE = {OPD: Role.OPD_STAFF, OPERATORS: Role.OPERATOR, SUPERVISORS: Role.SUPERVISOR}

# Shown instead of the title of a confidential ticket (kept in Indonesian, as all payloads).
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


async def _staff_subscriptions(
    audience: str, *, opd_ids: set[int] | None = None, actor_staff: int | None
) -> list[dict]:
    """Push subscriptions of active staff in ``audience`` (one query), the actor left out; for
    OPD staff, those of the OPDs in ``opd_ids``."""
    where = (PushSubscription.staff.role == STAFF_ROLE[audience]) & (
        PushSubscription.staff.active == True
    )
    if audience == OPD:
        where &= PushSubscription.staff.opd.is_in(list(opd_ids or {-1}))
    if actor_staff is not None:
        where &= PushSubscription.staff != actor_staff
    return await PushSubscription.select(
        PushSubscription.id,
        PushSubscription.staff,
        PushSubscription.staff.opd.as_alias("opd"),
    ).where(where)


async def notify_ticket_event(
    complaint_id: int,
    kind: str,
    *,
    now: datetime,
    actor_citizen: int | None = None,
    actor_staff: int | None = None,
    whatsapp_fallback: bool = False,
) -> int:
    """Queue what ``kind`` (a timeline event kind) on this ticket means for each recipient.

    One row per push subscription of each recipient; a citizen without any subscription gets one
    WhatsApp row when ``whatsapp_fallback`` (the ``notify_whatsapp_fallback`` setting) is on. The
    actor is never told about their own action. Returns the number of rows written.
    """
    return await notify_ticket_events(
        [complaint_id],
        kind,
        now=now,
        actor_citizen=actor_citizen,
        actor_staff=actor_staff,
        whatsapp_fallback=whatsapp_fallback,
    )


async def notify_ticket_events(
    complaint_ids: list[int],
    kind: str,
    *,
    now: datetime,
    actor_citizen: int | None = None,
    actor_staff: int | None = None,
    whatsapp_fallback: bool = False,
) -> int:
    """``notify_ticket_event`` for many tickets at once (the SLA clock's batches): one query per
    kind of recipient and one insert, however many tickets."""
    if not complaint_ids or not any(row.kind == kind for row in WHO_IS_TOLD):
        return 0  # internal notes and the like: nobody is told, no query needed
    tickets = await Complaint.select(
        Complaint.id,
        Complaint.number,
        Complaint.title,
        Complaint.status,
        Complaint.citizen,
        Complaint.opd,
        Complaint.channel,
        Complaint.privacy,
    ).where(Complaint.id.is_in(complaint_ids))
    told = {t["id"]: audiences(kind, channel=t["channel"]) for t in tickets}

    def facts(ticket: dict) -> TicketFacts:
        # A confidential ticket's title can say more than its reporter wants a lock screen to show.
        title = ticket["title"] if ticket["privacy"] != CONFIDENTIAL else CONFIDENTIAL_TITLE
        return TicketFacts(number=ticket["number"], title=title, status=ticket["status"])

    rows: list[Notification] = []
    citizens = {
        t["citizen"]
        for t in tickets
        if CITIZEN in told[t["id"]] and t["citizen"] is not None and t["citizen"] != actor_citizen
    }
    if citizens:
        devices: dict[int, list[int]] = {}
        for sub in await PushSubscription.select(
            PushSubscription.id, PushSubscription.citizen
        ).where(PushSubscription.citizen.is_in(list(citizens))):
            devices.setdefault(sub["citizen"], []).append(sub["id"])
        for ticket in tickets:
            if ticket["citizen"] not in citizens:
                continue
            message = ticket_message(kind, CITIZEN, facts(ticket))
            target = {"citizen": ticket["citizen"], "complaint": ticket["id"]}
            own_devices = devices.get(ticket["citizen"], [])
            rows += [
                _row(message, now=now, kind=kind, subscription=s, **target) for s in own_devices
            ]
            if not own_devices and whatsapp_fallback:
                # The template carries the number and the step; the body keeps the step for it.
                whatsapp = dataclasses.replace(message, body=message.step)
                rows.append(_row(whatsapp, now=now, kind=kind, channel="whatsapp", **target))

    for audience in (OPD, OPERATORS, SUPERVISORS):
        concerned = [
            t
            for t in tickets
            if audience in told[t["id"]] and (audience != OPD or t["opd"] is not None)
        ]
        if not concerned:
            continue
        staff_devices = await _staff_subscriptions(
            audience, opd_ids={t["opd"] for t in concerned}, actor_staff=actor_staff
        )
        for ticket in concerned:
            message = ticket_message(kind, audience, facts(ticket))
            rows += [
                _row(
                    message,
                    now=now,
                    kind=kind,
                    subscription=s["id"],
                    staff=s["staff"],
                    complaint=ticket["id"],
                )
                for s in staff_devices
                if audience != OPD or s["opd"] == ticket["opd"]
            ]

    if rows:
        await Notification.insert(*rows)
    return len(rows)


async def _write_for_staff(subscriptions, message, *, kind: str, now: datetime) -> int:
    """One row per staff device for a message about no ticket; returns rows written."""
    rows = [
        _row(message, now=now, kind=kind, subscription=s["id"], staff=s["staff"])
        for s in subscriptions
    ]
    if rows:
        await Notification.insert(*rows)
    return len(rows)


async def notify_report_ready(day: date, *, now: datetime) -> int:
    """Tell supervisors that the daily report for ``day`` is ready; returns rows written."""
    message = report_message(day)
    subscriptions = await _staff_subscriptions(SUPERVISORS, actor_staff=None)
    return await _write_for_staff(subscriptions, message, kind="report_ready", now=now)


async def notify_sign_in_attack(username: str, *, now: datetime) -> int:
    """Tell every active admin's devices that ``username`` is being guessed; returns rows written."""
    message = sign_in_attack_message(username)
    subscriptions = await PushSubscription.select(
        PushSubscription.id, PushSubscription.staff
    ).where((PushSubscription.staff.role == Role.ADMIN) & (PushSubscription.staff.active == True))
    return await _write_for_staff(subscriptions, message, kind="sign_in_attack", now=now)


async def notify_job_late(job_label: str, *, now: datetime) -> int:
    """Tell supervisors' devices that a background job (``job_label``, in the source language, as
    every payload) is late; returns rows written."""
    with use_locale(SOURCE_LOCALE):
        message = job_late_message(job_label)
    subscriptions = await _staff_subscriptions(SUPERVISORS, actor_staff=None)
    return await _write_for_staff(subscriptions, message, kind="job_late", now=now)
