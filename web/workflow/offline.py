"""Actions OPD staff did on the phone without signal, arriving later from its outbox.

The phone's outbox (static/js/outbox-core.js) sends each queued action with its idempotency key, the
ticket version the phone saw and the moment it was done there. Here that becomes one ``act`` call:
- the moment done on the phone is the event time, bounded: never later than the arrival (a phone
  clock ahead by more than ``CLOCK_SKEW`` is noted), never before the ticket's latest event (its
  dispatch or later; the timeline stays in order). A clamped moment is noted in the audit row,
  which also keeps the arrival time;
- a resend of an action already applied answers what it did, never applies it twice;
- an action queued against a version that is no longer current is a conflict, never applied blindly.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from db.tables import Complaint, TimelineEvent
from web.i18n import _
from web.photos.pipeline import ProcessedPhoto
from web.photos.storage import PhotoStorage
from web.staff.policy import may_see
from web.vocabulary import status_label
from web.workflow.lifecycle import TransitionRefused
from web.workflow.service import Actor, StaleTicket, TicketNotFound, act

# A phone clock a little ahead of ours is normal; beyond this it is wrong and gets noted.
CLOCK_SKEW = timedelta(minutes=2)


@dataclass(frozen=True)
class EventTime:
    at: datetime
    clamped: str | None  # None, "future", "before_last_event" or "missing"


def bounded_event_time(
    done_at: datetime | None, *, arrived_at: datetime, not_before: datetime | None
) -> EventTime:
    """When the queued action happened, as far as the server can believe the phone."""
    if done_at is None:
        return EventTime(arrived_at, "missing")
    if done_at > arrived_at + CLOCK_SKEW:
        return EventTime(arrived_at, "future")
    if not_before is not None and done_at < not_before:
        return EventTime(not_before, "before_last_event")
    return EventTime(min(done_at, arrived_at), None)


def parse_done_at(value: str) -> datetime | None:
    """The phone's moment: milliseconds since the epoch (JavaScript's Date.now())."""
    try:
        millis = int(value.strip())
        return datetime.fromtimestamp(millis / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        return None


@dataclass
class QueuedOutcome:
    kind: str  # applied | conflict | refused
    ticket: dict = field(
        default_factory=dict
    )  # the ticket now: number, status, status_label, version
    message: str = ""
    repeated: bool = False
    event_at: datetime | None = None
    clamped: str | None = None


async def _ticket_now(number: str) -> dict | None:
    row = (
        await Complaint.select(
            Complaint.id, Complaint.number, Complaint.status, Complaint.version, Complaint.opd
        )
        .where(Complaint.number == number)
        .first()
    )
    if row is None:
        return None
    return {**row, "status_label": status_label(row["status"])}


def _public(ticket: dict) -> dict:
    return {k: ticket[k] for k in ("number", "status", "status_label", "version")}


async def _event_with_key(complaint_id: int, key: uuid.UUID) -> dict | None:
    return (
        await TimelineEvent.select(TimelineEvent.created_at)
        .where((TimelineEvent.complaint == complaint_id) & (TimelineEvent.client_key == key))
        .first()
    )


async def _latest_event_at(complaint_id: int) -> datetime | None:
    row = (
        await TimelineEvent.select(TimelineEvent.created_at)
        .where(TimelineEvent.complaint == complaint_id)
        .order_by(TimelineEvent.created_at, ascending=False)
        .first()
    )
    return row["created_at"] if row else None


async def apply_queued(
    number: str,
    action: str,
    actor: Actor,
    *,
    client_key: uuid.UUID,
    seen_version: int,
    done_at: datetime | None,
    note: str = "",
    photos: list[ProcessedPhoto] | None = None,
    storage: PhotoStorage | None = None,
    reopen_window_days: int = 7,
    whatsapp_fallback: bool = False,
    now: datetime | None = None,
) -> QueuedOutcome:
    """Apply one action queued on a staff phone, once; see the module's docstring."""
    arrived_at = now or datetime.now(UTC)
    ticket = await _ticket_now(number)
    if ticket is None or not may_see(ticket, actor):
        # Returned and sent to another OPD meanwhile looks the same: not this staff's ticket now.
        return QueuedOutcome(
            "conflict",
            {"number": number, "status": "", "status_label": "", "version": 0},
            _("Tiket ini tidak lagi ditangani OPD Anda."),
        )
    done = await _event_with_key(ticket["id"], client_key)
    if done is not None:
        return QueuedOutcome("applied", _public(ticket), repeated=True, event_at=done["created_at"])
    if ticket["version"] != seen_version:
        return _conflict(ticket)
    when = bounded_event_time(
        done_at, arrived_at=arrived_at, not_before=await _latest_event_at(ticket["id"])
    )
    try:
        result = await act(
            number,
            action,
            actor,
            expected_version=seen_version,
            note=note,
            photos=photos,
            storage=storage,
            reopen_window_days=reopen_window_days,
            whatsapp_fallback=whatsapp_fallback,
            now=when.at,
            client_key=client_key,
            audit_detail={
                "queued_on_phone": True,
                "client_key": str(client_key),
                "event_at": when.at.isoformat(),
                "done_on_phone_at": done_at.isoformat() if done_at else None,
                "arrived_at": arrived_at.isoformat(),
                "event_time_clamped": when.clamped,
            },
        )
    except (StaleTicket, TransitionRefused) as exc:
        # Another send of this very item may have won the race; else the ticket moved on.
        current = await _ticket_now(number)
        assert current is not None
        if await _event_with_key(current["id"], client_key) is not None:
            return QueuedOutcome("applied", _public(current), repeated=True)
        if current["version"] != seen_version:
            return _conflict(current)
        return QueuedOutcome("refused", _public(current), exc.message)
    except TicketNotFound:
        return QueuedOutcome(
            "conflict", _public(ticket), _("Tiket ini tidak lagi ditangani OPD Anda.")
        )
    ticket.update(status=result["status"], version=result["version"])
    ticket["status_label"] = status_label(result["status"])
    return QueuedOutcome("applied", _public(ticket), event_at=when.at, clamped=when.clamped)


def _conflict(ticket: dict) -> QueuedOutcome:
    return QueuedOutcome(
        "conflict",
        _public(ticket),
        _(
            "Tiket ini sudah berubah sejak Anda membukanya (sekarang: %(status)s). Tindakan Anda belum diterapkan.",
            status=ticket["status_label"],
        ),
    )
