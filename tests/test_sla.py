"""SLA: due time from dispatch, and the state shown on tickets and in the inbox."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from web.workflow.sla import SlaState, near_breach_from, sla_due_at, sla_label, sla_state

WIB = timezone(timedelta(hours=7))
DISPATCHED = datetime(2025, 11, 24, 8, 0, tzinfo=WIB)
DUE = DISPATCHED + timedelta(hours=10)  # a short window keeps the boundaries easy to read
EIGHTY_PERCENT = DISPATCHED + timedelta(hours=8)


def state(now: datetime, status: str = "in_progress", due_at: datetime | None = DUE) -> SlaState:
    return sla_state(now=now, started_at=DISPATCHED, due_at=due_at, status=status)


def test_due_at_adds_the_sla_hours():
    assert sla_due_at(DISPATCHED, 48) == datetime(2025, 11, 26, 8, 0, tzinfo=WIB)
    assert sla_due_at(DISPATCHED, 24) == DISPATCHED + timedelta(days=1)


def test_near_breach_starts_at_eighty_percent_of_the_window():
    assert near_breach_from(DISPATCHED, DUE) == EIGHTY_PERCENT
    assert near_breach_from(DISPATCHED, sla_due_at(DISPATCHED, 72)) == DISPATCHED + timedelta(
        hours=57, minutes=36
    )


@pytest.mark.parametrize("status", ["dispatched", "in_progress"])
def test_states_at_the_boundaries(status):
    assert state(DISPATCHED, status) is SlaState.ON_TIME
    assert state(EIGHTY_PERCENT - timedelta(microseconds=1), status) is SlaState.ON_TIME
    assert state(EIGHTY_PERCENT, status) is SlaState.NEAR_BREACH
    assert state(DUE, status) is SlaState.NEAR_BREACH  # exactly at due is not late yet
    assert state(DUE + timedelta(microseconds=1), status) is SlaState.OVERDUE
    assert state(DUE + timedelta(days=3), status) is SlaState.OVERDUE


@pytest.mark.parametrize(
    "status",
    ["received", "verified", "resolved", "closed", "rejected", "duplicate", "returned", "reopened"],
)
def test_no_sla_outside_the_opd_statuses(status):
    assert state(DUE + timedelta(days=3), status) is SlaState.NONE
    assert state(EIGHTY_PERCENT, status) is SlaState.NONE


def test_no_sla_without_a_due_time():
    assert state(DUE + timedelta(days=3), "dispatched", due_at=None) is SlaState.NONE


def test_unknown_start_gives_only_on_time_or_overdue():
    def no_start(now):
        return sla_state(now=now, started_at=None, due_at=DUE, status="dispatched")

    assert no_start(DUE) is SlaState.ON_TIME
    assert no_start(DUE + timedelta(seconds=1)) is SlaState.OVERDUE


def test_labels():
    assert sla_label(SlaState.ON_TIME) == "Tepat waktu"
    assert sla_label(SlaState.NEAR_BREACH) == "Hampir lewat batas"
    assert sla_label(SlaState.OVERDUE) == "Terlambat"
    assert sla_label(SlaState.NONE) == "—"
    assert sla_label("overdue") == "Terlambat"
