"""SLA: when an OPD must have resolved a dispatched ticket, and how close it is to that moment.

The clock runs only while the ticket is with an OPD (dispatched or in progress). Hours are
wall-clock hours; the per-category figure (24, 48 or 72 in Jambi) comes from configuration.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from web.i18n import _, per_locale
from web.workflow.lifecycle import WITH_OPD

# The last fifth of the window counts as "near breach", so there is time to act on the warning.
NEAR_BREACH_SHARE = 0.2


class SlaState(StrEnum):
    ON_TIME = "on_time"
    NEAR_BREACH = "near_breach"
    OVERDUE = "overdue"
    NONE = "none"  # no SLA running, e.g. not dispatched yet or already resolved


def sla_due_at(dispatched_at: datetime, sla_hours: int) -> datetime:
    return dispatched_at + timedelta(hours=sla_hours)


def near_breach_from(started_at: datetime, due_at: datetime) -> datetime:
    """The moment a ticket turns near-breach (the inbox filters on it in SQL)."""
    return due_at - (due_at - started_at) * NEAR_BREACH_SHARE


def sla_state(
    *, now: datetime, started_at: datetime | None, due_at: datetime | None, status: str
) -> SlaState:
    """Overdue strictly after ``due_at``; near breach from 80 % of the window up to ``due_at``.

    Without ``started_at`` the window is unknown, so the state is only on time or overdue.
    """
    if due_at is None or status not in WITH_OPD:
        return SlaState.NONE
    if now > due_at:
        return SlaState.OVERDUE
    if started_at is not None and now >= near_breach_from(started_at, due_at):
        return SlaState.NEAR_BREACH
    return SlaState.ON_TIME


@per_locale
def sla_label(state: SlaState | str) -> str:
    return {
        SlaState.ON_TIME: _("Tepat waktu"),
        SlaState.NEAR_BREACH: _("Hampir lewat batas"),
        SlaState.OVERDUE: _("Terlambat"),
    }.get(state, "—")
