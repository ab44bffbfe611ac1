"""Applying lifecycle actions to tickets in the database.

``act`` is the one way a ticket's status changes: the rules come from ``lifecycle.decide``; the
change, its timeline event, any proof photos and the audit row are one transaction; and the ticket's
``version`` makes the second of two concurrent editors fail with a clear message instead of
silently overwriting the first.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from piccolo.columns import Column

from db.engine import write_transaction
from db.tables import Complaint, Opd, TimelineEvent
from web import audit, ticket_feed
from web.errors import UserError
from web.forms import text_errors
from web.i18n import _
from web.notifications import notify_ticket_event
from web.photos.pipeline import ProcessedPhoto
from web.photos.service import insert_photo_rows, remove_stored, store_photos
from web.photos.storage import PhotoStorage
from web.staff.policy import may_see
from web.workflow.lifecycle import (
    Action,
    Changes,
    Inputs,
    TransitionRefused,
    decide,
    ticket_changes,
)

log = logging.getLogger("aduan.workflow")


@dataclass(frozen=True)
class Actor:
    kind: str  # citizen | staff | system
    id: int | None
    role: str  # citizen | operator | opd_staff | supervisor | admin | system
    opd_id: int | None = None


class StaleTicket(UserError):
    """Someone else changed the ticket since this page was loaded."""


class TicketNotFound(Exception):
    """No such ticket, or not one this actor may see (deliberately the same answer)."""


async def _load(number: str) -> dict | None:
    return (
        await Complaint.select(
            Complaint.id,
            Complaint.number,
            Complaint.status,
            Complaint.version,
            Complaint.citizen,
            Complaint.opd,
            Complaint.first_response_at,
            Complaint.resolved_at,
            Complaint.category.sla_hours.as_alias("sla_hours"),
        )
        .where(Complaint.number == number)
        .first()
    )


async def _who_changed_last(complaint_id: int) -> str:
    row = (
        await TimelineEvent.select(
            TimelineEvent.actor_kind,
            TimelineEvent.actor_staff.name.as_alias("staff_name"),
            TimelineEvent.created_at,
        )
        .where(TimelineEvent.complaint == complaint_id)
        .order_by(TimelineEvent.id, ascending=False)
        .first()
    )
    if row is None:
        return _("petugas lain")
    if row["staff_name"]:
        return row["staff_name"]
    return _("pelapor") if row["actor_kind"] == "citizen" else _("sistem")


async def act(
    number: str,
    action: Action | str,
    actor: Actor,
    *,
    expected_version: int,
    note: str = "",
    reason_code: str | None = None,
    opd_id: int | None = None,
    duplicate_of_number: str | None = None,
    photos: list[ProcessedPhoto] | None = None,
    storage: PhotoStorage | None = None,
    reopen_window_days: int = 7,
    whatsapp_fallback: bool = False,
    now: datetime | None = None,
    client_key: uuid.UUID | None = None,
    audit_detail: dict[str, Any] | None = None,
) -> dict:
    """Apply ``action`` to ticket ``number``; returns the ticket's new status and version.

    ``now`` (default: the clock) is the moment of the action: SLA times, reopen window, timeline.
    ``client_key`` and ``audit_detail``: an action queued on a phone (web/workflow/offline.py).
    ``reopen_window_days`` and ``whatsapp_fallback`` come from the settings of the caller.
    Raises TicketNotFound, TransitionRefused (with an Indonesian message) or StaleTicket.
    """
    ticket = await _load(number)
    if ticket is None or not may_see(ticket, actor):
        raise TicketNotFound(number)
    _check_texts(note=note, reason_code=reason_code or "", duplicate_of=duplicate_of_number or "")
    note = note.strip()
    now = now or datetime.now(UTC)
    duplicate_of = await _original_id(duplicate_of_number) if duplicate_of_number else None
    if opd_id is not None:
        await _check_opd(opd_id)

    decision = decide(
        ticket["status"],
        action,
        actor.role,
        note=note,
        reason_code=reason_code,
        opd_id=opd_id,
        duplicate_of=duplicate_of,
        ticket_id=ticket["id"],
        resolved_at=ticket["resolved_at"],
        now=now,
        reopen_window_days=reopen_window_days,
        with_photos=bool(photos),
    )
    if ticket["version"] != expected_version:
        raise StaleTicket(_stale_message(await _who_changed_last(ticket["id"])))

    given = Inputs(now, ticket["sla_hours"], ticket["first_response_at"], opd_id, duplicate_of)
    changes = ticket_changes(decision, given)
    kind = str(decision.action)

    stored: list[str] = []
    try:
        placed = (
            await store_photos(storage, ticket["number"], photos, stored)
            if photos and storage
            else []
        )
        async with write_transaction():
            version = await _update(ticket["id"], changes, expected_version)
            event = await TimelineEvent.insert(
                TimelineEvent(
                    complaint=ticket["id"],
                    kind=kind,
                    from_status=decision.from_status,
                    to_status=decision.to_status,
                    actor_kind=actor.kind,
                    actor_citizen=actor.id if actor.kind == "citizen" else None,
                    actor_staff=actor.id if actor.kind == "staff" else None,
                    note=note,
                    reason_code=reason_code,
                    opd=changes.get("opd"),  # set by a dispatch only
                    is_public=decision.public,
                    created_at=now,
                    client_key=client_key,
                )
            ).returning(TimelineEvent.id)
            await insert_photo_rows(
                ticket["id"], placed, kind="proof", now=now, event_id=event[0]["id"]
            )
            await ticket_feed.announce(ticket["id"])  # heard by the inbox once this commits
            # In this transaction: nobody is told about a change that did not happen.
            await notify_ticket_event(
                ticket["id"],
                kind,
                now=now,
                actor_citizen=actor.id if actor.kind == "citizen" else None,
                actor_staff=actor.id if actor.kind == "staff" else None,
                whatsapp_fallback=whatsapp_fallback,
            )
            await audit.record(
                f"complaint.{kind}",
                actor_kind=actor.kind,
                actor_id=actor.id,
                subject=f"complaint:{ticket['id']}",
                from_status=ticket["status"],
                to_status=decision.to_status,
                **(audit_detail or {}),
            )
    except BaseException:
        if stored and storage:
            await remove_stored(storage, stored)
        raise
    return {"status": decision.to_status, "version": version}


def _check_texts(**texts: str) -> None:
    # Refused whole, never cut; and nothing with a NUL byte reaches a query.
    problems = text_errors(texts)
    if problems:
        raise TransitionRefused(" ".join(problems.values()))


async def _update(complaint_id: int, changes: Changes, expected_version: int) -> int:
    """Store ``changes`` if nobody changed the ticket since ``expected_version``; the new version."""
    columns: dict[Column | str, Any] = {
        Complaint._meta.get_column_by_name(name): value for name, value in changes.items()
    }
    updated = (
        await Complaint.update({**columns, Complaint.version: Complaint.version + 1})
        .where((Complaint.id == complaint_id) & (Complaint.version == expected_version))
        .returning(Complaint.version)
    )
    if not updated:
        raise StaleTicket(_stale_message(await _who_changed_last(complaint_id)))
    return updated[0]["version"]


async def _original_id(number: str) -> int:
    """The id of the ticket a duplicate repeats."""
    original = (
        await Complaint.select(Complaint.id).where(Complaint.number == number.strip()).first()
    )
    if original is None:
        raise TransitionRefused(_("Tiket asal %(number)s tidak ditemukan.", number=number))
    return original["id"]


async def _check_opd(opd_id: int) -> None:
    if not await Opd.exists().where((Opd.id == opd_id) & (Opd.active == True)):
        raise TransitionRefused(_("OPD tujuan tidak dikenal."))


def _stale_message(who: str) -> str:
    return _(
        "Tiket ini baru saja diubah oleh %(who)s. Muat ulang untuk melihat perubahan terbaru.",
        who=who,
    )
