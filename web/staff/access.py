"""Authorization for staff routes, in one place.

Each staff route declares the roles it admits in ``opt={"roles": ...}`` (the role sets of
``policy.py``) and is registered through ``staff_router``, whose ``staff_guard`` is the only code
that checks them. ``tests/test_staff_access.py`` walks every staff route for every role.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from litestar import Router
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.handlers import HTTPRouteHandler
from litestar.handlers.base import BaseRouteHandler

from db.tables import StaffUser
from web import sessions
from web.sessions import STAFF_KEY

SESSION_STAFF = STAFF_KEY
SESSION_SEEN = "staff_seen_at"
SEEN_RESOLUTION_SECONDS = 60
# Sent by requests the page makes on its own (the inbox refresh): they are not a person at the
# desk, so they must not keep an unattended staff PC signed in.
POLL_HEADER = "x-aduan-poll"


def is_poll(connection: ASGIConnection) -> bool:
    # An event stream (the live inbox) is opened by the page too: EventSource sends this Accept.
    return connection.headers.get(POLL_HEADER) == "1" or is_event_stream(connection)


def is_event_stream(connection: ASGIConnection) -> bool:
    return "text/event-stream" in connection.headers.get("accept", "")


@dataclass(frozen=True)
class StaffMember:
    id: int
    username: str
    name: str
    role: str
    opd_id: int | None


class StaffSignInRequired(HTTPException):
    status_code = 401


async def _active_staff(staff_id: object) -> StaffMember | None:
    row = (
        await StaffUser.select(
            StaffUser.id, StaffUser.username, StaffUser.name, StaffUser.role, StaffUser.opd
        )
        .where((StaffUser.id == staff_id) & (StaffUser.active == True))
        .first()
    )
    if row is None:
        return None
    return StaffMember(
        id=row["id"],
        username=row["username"],
        name=row["name"],
        role=row["role"],
        opd_id=row["opd"],
    )


async def still_signed_in(
    connection: ASGIConnection, member: StaffMember, idle_seconds: int
) -> bool:
    """For a response that outlives its request (the live inbox): the session it came with still
    exists (no sign-out, no password reset), is still this active member's, and is not idle."""
    session = await sessions.reload(connection)
    if not session or session.get(SESSION_STAFF) != member.id:
        return False
    if datetime.now(UTC).timestamp() - session.get(SESSION_SEEN, 0) > idle_seconds:
        return False
    return await StaffUser.exists().where((StaffUser.id == member.id) & (StaffUser.active == True))


def _idle(session: dict, now: float, idle_seconds: int) -> bool:
    return now - session.get(SESSION_SEEN, 0) > idle_seconds


async def load_staff(connection: ASGIConnection, idle_seconds: int) -> StaffMember | None:
    """The signed-in staff member, or None; an idle session ends here (and is cleared).
    A poll needs a live session like any request but does not count as activity."""
    session = connection.scope.get("session")
    if not isinstance(session, dict) or SESSION_STAFF not in session:
        return None
    now = datetime.now(UTC).timestamp()
    if _idle(session, now, idle_seconds):
        session.pop(SESSION_STAFF, None)
        session.pop(SESSION_SEEN, None)
        return None
    member = await _active_staff(session[SESSION_STAFF])
    if member is None:
        return None
    if now - session.get(SESSION_SEEN, 0) > SEEN_RESOLUTION_SECONDS and not is_poll(connection):
        # Stamped at most once a minute: every stamp rewrites the session row.
        session[SESSION_SEEN] = now
    return member


async def peek_staff(session: object, idle_seconds: int) -> StaffMember | None:
    """Who is signed in to ``session``, read only: for an error page's layout, which is not
    activity and must not end or extend anything."""
    if not isinstance(session, dict) or SESSION_STAFF not in session:
        return None
    if _idle(session, datetime.now(UTC).timestamp(), idle_seconds):
        return None
    return await _active_staff(session[SESSION_STAFF])


# The staff areas: an error page under these wears the staff layout, signed in or not.
STAFF_PATHS = ("/operator", "/opd", "/pimpinan", "/admin", "/staf")


def is_staff_path(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in STAFF_PATHS)


async def staff_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    roles = handler.opt.get("roles")
    if roles is None:  # a staff route without a role list is a bug: refuse rather than open it
        raise PermissionDeniedException("route declares no roles")
    settings = connection.app.state.services.settings
    member = await load_staff(connection, settings.staff_idle_minutes * 60)
    if member is None:
        raise StaffSignInRequired()
    if member.role not in roles:
        raise PermissionDeniedException("role not allowed")
    connection.scope.setdefault("state", {})["staff"] = member


def staff_router(*handlers: HTTPRouteHandler) -> Router:
    """One area's staff routes behind ``staff_guard``; URLs and names stay the handlers' own.

    Each handler names its roles in ``opt`` (Litestar merges the router's opt into it); one that
    names none is refused to everyone.
    """
    return Router(path="/", guards=[staff_guard], route_handlers=list(handlers))


def current_staff(connection: ASGIConnection) -> StaffMember:
    """Set by ``staff_guard``; handlers behind the guard can rely on it."""
    return connection.scope["state"]["staff"]


def outbox_owner(member: StaffMember) -> str:
    """The account id a staff phone's outbox items are written under (from GET /akun) and checked
    against when sent; never equal to a citizen's (accounts.outbox_owner), so a shared phone keeps
    the two apart."""
    return f"staff:{member.id}"
