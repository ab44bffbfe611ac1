"""What each action changes on the ticket, read from its rule alone (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from web.workflow.lifecycle import RULES, Action, Decision, Inputs, ticket_changes

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def changes(action: Action, from_status: str, **given) -> dict:
    rule = RULES[action]
    decision = Decision(action, from_status, rule.target or from_status, rule.public)
    inputs = {"now": NOW, "sla_hours": 48, "first_response_at": None, **given}
    return ticket_changes(decision, Inputs(**inputs))


def test_dispatch_starts_a_new_sla_clock_with_the_opd():
    assert changes(Action.DISPATCH, "verified", opd_id=7) == {
        "updated_at": NOW,
        "status": "dispatched",
        "opd": 7,
        "sla_started_at": NOW,
        "sla_warn_at": NOW + timedelta(hours=48 * 0.8),
        "sla_due_at": NOW + timedelta(hours=48),
        "sla_near_marked_at": None,
        "sla_overdue_marked_at": None,
    }


@pytest.mark.parametrize("action", [Action.START, Action.FOLLOW_UP, Action.RESOLVE])
def test_the_opds_first_reply_is_stamped_once(action):
    assert changes(action, "dispatched")["first_response_at"] == NOW
    earlier = NOW - timedelta(hours=1)
    assert "first_response_at" not in changes(action, "in_progress", first_response_at=earlier)


def test_resolve_close_and_reopen_move_the_done_times():
    assert changes(Action.RESOLVE, "in_progress")["resolved_at"] == NOW
    assert changes(Action.CLOSE, "resolved")["closed_at"] == NOW
    assert changes(Action.CONFIRM, "resolved")["closed_at"] == NOW
    reopened = changes(Action.REOPEN, "closed")
    assert reopened["resolved_at"] is None and reopened["closed_at"] is None
    assert reopened["sla_due_at"] is None


@pytest.mark.parametrize(
    ("action", "from_status"),
    [
        (Action.REJECT, "verified"),
        (Action.MARK_DUPLICATE, "received"),
        (Action.RETURN_TO_OPERATOR, "in_progress"),
    ],
)
def test_leaving_without_resolving_stops_the_sla_clock(action, from_status):
    assert changes(action, from_status, duplicate_of=3)["sla_due_at"] is None


def test_duplicate_links_the_original():
    assert changes(Action.MARK_DUPLICATE, "verified", duplicate_of=3)["duplicate_of"] == 3


def test_a_note_changes_only_the_time():
    assert changes(Action.ADD_NOTE, "in_progress") == {"updated_at": NOW}
    assert changes(Action.VERIFY, "received") == {"updated_at": NOW, "status": "verified"}
