"""Who may do what, in one place. Plain Python: no web framework, no database.

The staff roles and the role sets built from them; the sets are what staff routes admit
(``opt={"roles": ...}``, enforced by ``access.staff_guard``) and what the lifecycle's rules name.
Templates ask ``can(staff, "...")`` instead of naming roles. ``may_see`` and ``reporter_of`` decide
which tickets and which reporter details a person may see.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Protocol

from web.vocabulary import PUBLIC


class Role(StrEnum):
    """A staff account's role, as stored in ``staff_user.role``."""

    OPERATOR = "operator"
    OPD_STAFF = "opd_staff"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


ROLES: tuple[Role, ...] = tuple(Role)  # in the order the admin page offers them
ANY_STAFF = frozenset(Role)
OPERATORS = frozenset({Role.OPERATOR, Role.ADMIN})  # work tickets at the command centre
READERS = OPERATORS | {Role.SUPERVISOR}  # see every ticket
OPD_STAFF = frozenset({Role.OPD_STAFF})  # see and work only their own OPD's tickets
LEADERS = frozenset({Role.SUPERVISOR, Role.ADMIN})  # the leaders' report
OPD_REPORT_READERS = OPD_STAFF | LEADERS
ADMINS = frozenset({Role.ADMIN})

# Actors of the lifecycle that are not staff accounts.
CITIZEN = frozenset({"citizen"})  # the ticket's own reporter
SYSTEM = "system"  # the app itself: jobs, tests

# What templates ask with ``can``: each permission is the role set of the routes it leads to, so a
# link shows exactly when its page admits the reader.
PERMISSIONS: dict[str, frozenset[str]] = {
    "see_every_ticket": READERS,  # the inbox, 112 log, hand-over, shift report, any OPD's report
    "work_tickets": OPERATORS,  # act on tickets in the inbox, record a complaint, log a 112 call
    "reconcile_lapor": OPERATORS,  # link tickets to SP4N-LAPOR!, its update list and import
    "work_opd_queue": OPD_STAFF,  # the OPD queue and the own OPD's report
    "read_leaders_report": LEADERS,
    "administer": ADMINS,
}


class HasRole(Protocol):
    @property
    def role(self) -> str: ...


class Viewer(HasRole, Protocol):
    """A person or process looking at a ticket (``workflow.service.Actor``, ``StaffMember``)."""

    @property
    def id(self) -> int | None: ...

    @property
    def opd_id(self) -> int | None: ...


def staff_home(role: str) -> str:
    """Where a staff member's work starts: OPD staff at their queue, everyone else at the inbox."""
    return "/opd" if role in OPD_STAFF else "/operator"


def can(member: HasRole | None, permission: str) -> bool:
    """Whether ``member`` holds ``permission`` (a key of ``PERMISSIONS``; a typo raises)."""
    allowed = PERMISSIONS[permission]
    return member is not None and member.role in allowed


def may_see(ticket: Mapping[str, Any], viewer: Viewer) -> bool:
    """Whether ``viewer`` may see this ticket (or a photo of it: needs its ``citizen`` and ``opd``).

    Citizens see their own tickets, OPD staff their OPD's, operators, supervisors and admins all.
    """
    if viewer.role in CITIZEN:
        return ticket["citizen"] == viewer.id
    if viewer.role in OPD_STAFF:
        return ticket["opd"] is not None and ticket["opd"] == viewer.opd_id
    return viewer.role in READERS or viewer.role == SYSTEM


def reporter_of(ticket: Mapping[str, Any], role: str) -> dict[str, str] | None:
    """Who reported and how to call them back, as ``role`` may see it; None when hidden.

    Operators, supervisors and admins get the full number (they call back). OPD staff never see
    the reporter of an anonymous or confidential ticket, and on public ones only the name.
    """
    if role in OPD_STAFF and ticket["privacy"] != PUBLIC:
        return None
    # A caller's details as the operator noted them come first; else the citizen's account.
    name = ticket["reporter_name"] or ticket["citizen_name"] or ""
    contact = ticket["reporter_contact"] or ticket["citizen_phone"] or ""
    return {"name": name, "contact": "" if role in OPD_STAFF else contact}
