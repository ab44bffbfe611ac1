"""The SLA clock: escalate tickets that reach near breach or go overdue while with an OPD.

Each escalation is recorded once: the ticket's ``sla_near_marked_at`` / ``sla_overdue_marked_at``
is set in the same transaction as its timeline event, audit row and notifications, and the
conditional UPDATE only takes tickets whose mark is still empty, so a second run (or a second
process) finds nothing left to do. Dispatch clears both marks: a new clock, new escalations.

Near breach is internal (the OPD is warned); overdue is public, so the citizen learns that their
ticket passed its time limit and went up to the leaders rather than waiting without news.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from piccolo.columns import Column, Timestamptz

from db.engine import write_transaction
from db.tables import AuditLog, Complaint, TimelineEvent
from web import ticket_feed
from web.notifications import notify_ticket_events
from web.workflow.sla import SlaState, sla_condition

BATCH = 200  # tickets per transaction (notifications for a batch: a few queries, one insert)


@dataclass(frozen=True)
class Escalation:
    kind: str  # the timeline event kind, also the notification kind
    state: SlaState  # the SLA state that calls for it
    deadline: Timestamptz  # the Complaint column that must have passed (oldest first)
    mark: Timestamptz  # the Complaint column that records the escalation
    public: bool


NEAR_BREACH = Escalation(
    "sla_near_breach",
    SlaState.NEAR_BREACH,
    Complaint.sla_warn_at,
    Complaint.sla_near_marked_at,
    public=False,
)
OVERDUE = Escalation(
    "sla_overdue",
    SlaState.OVERDUE,
    Complaint.sla_due_at,
    Complaint.sla_overdue_marked_at,
    public=True,
)


async def run_sla_clock(*, now: datetime, whatsapp_fallback: bool = False) -> dict[str, int]:
    """Escalate everything due at ``now``; returns how many tickets each escalation took.

    ``whatsapp_fallback`` is the ``notify_whatsapp_fallback`` setting."""
    done = {}
    for escalation in (OVERDUE, NEAR_BREACH):
        total = 0
        while True:
            count = await _escalate_batch(escalation, now=now, whatsapp_fallback=whatsapp_fallback)
            total += count
            if count < BATCH:
                break
        done[escalation.kind] = total
    return done


async def _escalate_batch(escalation: Escalation, *, now: datetime, whatsapp_fallback: bool) -> int:
    due = sla_condition(escalation.state, now) & escalation.mark.is_null()
    async with write_transaction():
        candidates = (
            await Complaint.select(Complaint.id)
            .where(due)
            .order_by(escalation.deadline)
            .limit(BATCH)
        )
        if not candidates:
            return 0
        ids = [row["id"] for row in candidates]
        changes: dict[Column | str, Any] = {escalation.mark: now}
        if escalation is OVERDUE:
            # An overdue ticket was near breach too; do not warn about it afterwards.
            changes[Complaint.sla_near_marked_at] = now
        # The mark is the guard: whatever another process marked meanwhile is not returned here.
        marked = (
            await Complaint.update(changes)
            .where(Complaint.id.is_in(ids) & escalation.mark.is_null())
            .returning(Complaint.id, Complaint.status, Complaint.opd)
        )
        if not marked:
            return 0
        await ticket_feed.announce(*(row["id"] for row in marked))
        await TimelineEvent.insert(
            *[
                TimelineEvent(
                    complaint=row["id"],
                    kind=escalation.kind,
                    from_status=row["status"],
                    to_status=row["status"],
                    actor_kind="system",
                    opd=row["opd"],
                    is_public=escalation.public,
                    created_at=now,
                )
                for row in marked
            ]
        )
        await AuditLog.insert(
            *[
                AuditLog(
                    action=f"complaint.{escalation.kind}",
                    actor_kind="system",
                    subject=f"complaint:{row['id']}",
                    created_at=now,
                )
                for row in marked
            ]
        )
        await notify_ticket_events(
            [row["id"] for row in marked],
            escalation.kind,
            now=now,
            whatsapp_fallback=whatsapp_fallback,
        )
    return len(candidates)
