"""SLA: when an OPD must have resolved a dispatched ticket, and how close it is to that moment.

The clock runs only while the ticket is with an OPD (dispatched or in progress). Hours are
wall-clock hours; the per-category figure (24, 48 or 72 in Jambi) comes from configuration.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

from piccolo.columns import Column
from piccolo.columns.combination import And, Where

from db.tables import Complaint
from web.i18n import _, per_locale
from web.workflow.status import WITH_OPD, sql_in

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


# The same borders in SQL, for lists, counts and the SLA clock: the ticket is with an OPD and its
# stored times compare with ``now`` like this (``sla_warn_at`` is ``near_breach_from``, stored at
# dispatch). Written once; ``sla_condition`` and ``sla_sql`` both read it.
_SQL_BORDERS: dict[SlaState, tuple[tuple[str, str], ...]] = {
    SlaState.OVERDUE: (("sla_due_at", "<"),),
    SlaState.NEAR_BREACH: (("sla_warn_at", "<="), ("sla_due_at", ">=")),
    SlaState.ON_TIME: (("sla_warn_at", ">"),),
}
_COMPARE: dict[str, Callable[[Column, datetime], Where]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def sla_condition(state: SlaState | str, now: datetime) -> And:
    """Tickets whose SLA clock is in ``state`` (overdue | near_breach | on_time) at ``now``, as a
    Piccolo condition."""
    condition: And | Where = Complaint.status.is_in(list(WITH_OPD))
    for column, compare in _SQL_BORDERS[SlaState(state)]:
        condition = condition & _COMPARE[compare](Complaint._meta.get_column_by_name(column), now)
    assert isinstance(condition, And)
    return condition


def sla_sql(state: SlaState | str, now: datetime) -> tuple[str, list[datetime]]:
    """The same condition as SQL text for ``Table.raw`` (``{}`` placeholders) and its arguments,
    for the reports' hand-written queries."""
    borders = _SQL_BORDERS[SlaState(state)]
    text = " AND ".join(
        [f"status IN {sql_in(WITH_OPD)}"]
        + [f"{column} {compare} {{}}" for column, compare in borders]
    )
    return text, [now] * len(borders)


@per_locale
def sla_label(state: SlaState | str) -> str:
    labels: dict[str, str] = {
        SlaState.ON_TIME: _("Tepat waktu"),
        SlaState.NEAR_BREACH: _("Hampir lewat batas"),
        SlaState.OVERDUE: _("Terlambat"),
    }
    return labels.get(state, "—")
