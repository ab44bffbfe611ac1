"""Ticket statuses: the one list of them and the groups the rules are written in (labels: vocabulary).

Values are the codes stored in ``complaint.status`` and ``timeline_event.*_status``; a ``Status``
compares equal to its code, so rows, templates and query strings keep working with plain strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Status(StrEnum):
    # In the order users see them (the inbox filter, the public page): the flow, then the ends.
    RECEIVED = "received"
    VERIFIED = "verified"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    RETURNED = "returned"
    REOPENED = "reopened"
    CLOSED = "closed"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


STATUSES: tuple[Status, ...] = tuple(Status)
# Refused for good: no action applies any more, not even an internal note.
TERMINAL = frozenset({Status.REJECTED, Status.DUPLICATE})
# Not finished: everything but closed and the terminal ones (a resolved ticket may be reopened).
OPEN_STATUSES = frozenset(Status) - {Status.CLOSED} - TERMINAL
# With an OPD: the SLA clock runs.
WITH_OPD = frozenset({Status.DISPATCHED, Status.IN_PROGRESS})
# Done by the OPD: waiting for the citizen's confirmation, or closed (what reports count as done).
DONE = frozenset({Status.RESOLVED, Status.CLOSED})
# Still to be done: open and not yet resolved (candidates for "duplicate of").
UNRESOLVED = OPEN_STATUSES - DONE


def sql_in(values: Iterable[str]) -> str:
    """An SQL list of code constants, e.g. ``('closed', 'resolved')``: never user input."""
    return "(" + ", ".join(f"'{v}'" for v in sorted(values)) + ")"
