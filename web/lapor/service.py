"""LAPOR! reconciliation against the database: linking a ticket to its LAPOR! report, the list of
tickets whose public state changed since it was last copied into LAPOR!, and importing reports.

"Changed" means a public timeline event other than "created" newer than ``lapor_synced_event``:
a status change or a public follow-up. Marking records the event id the operator saw, so a change
that arrives while the page is open shows the ticket again.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass

from db.city_data import City
from db.engine import is_unique_violation, write_transaction
from db.tables import Category, Complaint, TimelineEvent
from web import audit
from web.complaints import service as complaints
from web.complaints.forms import parse_complaint_form
from web.errors import UserError
from web.forms import FormErrors
from web.i18n import _
from web.lapor.rules import ImportRow, LaporIdError, normalize_lapor_id, paste_text
from web.photos.storage import PhotoStorage
from web.vocabulary import PUBLIC, status_label

log = logging.getLogger("aduan.lapor")

PAGE_SIZE = 25
# Public events that change what LAPOR! should show; the partial index timeline_event_public_latest
# has the same predicate.
CHANGED = "e.complaint = c.id AND e.is_public AND e.kind <> 'created'"


class UnknownTicket(UserError):
    """No ticket has that number."""


class NotLinked(UserError):
    """The ticket has no LAPOR! ID, or the event is not one of its public ones."""


def duplicate_message(lapor_id: str, number: str) -> str:
    return _(
        "Nomor SP4N-LAPOR! %(id)s sudah tercatat pada tiket %(number)s.", id=lapor_id, number=number
    )


def taken_meanwhile(lapor_id: str) -> str:
    return _(
        "Nomor SP4N-LAPOR! %(id)s baru saja dicatat pada tiket lain. Cari nomor itu di kotak masuk.",
        id=lapor_id,
    )


async def owner_of(lapor_id: str) -> str | None:
    row = await Complaint.select(Complaint.number).where(Complaint.lapor_id == lapor_id).first()
    return row["number"] if row else None


async def check_new_lapor_id(raw: str, field: str = "lapor_id") -> str:
    """The normalized ID when no ticket has it yet; else FormErrors naming the ticket that has."""
    try:
        lapor_id = normalize_lapor_id(raw)
    except LaporIdError as exc:
        raise FormErrors.single(field, str(exc)) from exc
    number = await owner_of(lapor_id)
    if number:
        raise FormErrors.single(field, duplicate_message(lapor_id, number))
    return lapor_id


async def link(number: str, raw: str, *, staff_id: int, ip: str = "") -> str:
    """Set (or correct) the LAPOR! ID of ticket ``number``; audited. Returns the stored ID."""
    async with write_transaction():
        ticket = (
            await Complaint.select(Complaint.id, Complaint.lapor_id)
            .where(Complaint.number == number)
            .first()
        )
        if ticket is None:
            raise UnknownTicket(_("Tiket tidak ditemukan."))
        try:
            lapor_id = normalize_lapor_id(raw)
        except LaporIdError as exc:
            raise FormErrors.single("lapor_id", str(exc)) from exc
        if lapor_id == ticket["lapor_id"]:
            return lapor_id
        other = await owner_of(lapor_id)
        if other:
            raise FormErrors.single("lapor_id", duplicate_message(lapor_id, other))
        try:
            await Complaint.update({Complaint.lapor_id: lapor_id}).where(
                Complaint.id == ticket["id"]
            )
        except Exception as exc:
            if is_unique_violation(exc, "lapor_id"):  # linked elsewhere at this very moment
                raise FormErrors.single("lapor_id", taken_meanwhile(lapor_id)) from exc
            raise
        await audit.record(
            "complaint.lapor_linked",
            actor_kind="staff",
            actor_id=staff_id,
            subject=f"complaint:{ticket['id']}",
            ip=ip,
            lapor_id=lapor_id,
            previous=ticket["lapor_id"],
        )
    return lapor_id


async def waiting(*, after: int = 0, limit: int = PAGE_SIZE) -> tuple[list[dict], int | None]:
    """One page (keyset on ticket id) of LAPOR!-linked tickets to update in LAPOR!, with the
    latest public event id and reply: one query, whatever the page size."""
    rows = await Complaint.raw(
        "SELECT c.id, c.number, c.title, c.status, c.lapor_id, "
        f"(SELECT max(e.id) FROM timeline_event e WHERE {CHANGED}) AS event_id, "
        f"(SELECT e.note FROM timeline_event e WHERE {CHANGED} AND e.note <> '' "
        "ORDER BY e.id DESC LIMIT 1) AS reply "
        "FROM complaint c WHERE c.lapor_id IS NOT NULL AND c.id > {} "
        f"AND EXISTS (SELECT 1 FROM timeline_event e WHERE {CHANGED} "
        "AND e.id > coalesce(c.lapor_synced_event, 0)) "
        "ORDER BY c.id LIMIT {}",
        after,
        limit + 1,
    )
    page = rows[:limit]
    for row in page:
        row["paste"] = paste_text(
            status_label=status_label(row["status"]), reply=row["reply"] or "", number=row["number"]
        )
    return page, (page[-1]["id"] if len(rows) > limit else None)


async def waiting_count() -> int:
    rows = await Complaint.raw(
        "SELECT count(*) AS n FROM complaint c WHERE c.lapor_id IS NOT NULL "
        f"AND EXISTS (SELECT 1 FROM timeline_event e WHERE {CHANGED} "
        "AND e.id > coalesce(c.lapor_synced_event, 0))"
    )
    return int(rows[0]["n"])


async def mark_updated(number: str, event_id: int, *, staff_id: int, ip: str = "") -> None:
    """Record that LAPOR! now shows everything up to public event ``event_id``; audited. Never
    moves the mark back (two operators marking one ticket)."""
    async with write_transaction():
        ticket = (
            await Complaint.select(Complaint.id, Complaint.lapor_id, Complaint.lapor_synced_event)
            .where(Complaint.number == number)
            .first()
        )
        if ticket is None:
            raise UnknownTicket(_("Tiket tidak ditemukan."))
        if not ticket["lapor_id"]:
            raise NotLinked(_("Tiket ini tidak terhubung dengan SP4N-LAPOR!."))
        event = (
            await TimelineEvent.select(TimelineEvent.id)
            .where(
                (TimelineEvent.id == event_id)
                & (TimelineEvent.complaint == ticket["id"])
                & (TimelineEvent.is_public == True)
            )
            .first()
        )
        if event is None:
            raise NotLinked(_("Perubahan itu tidak ditemukan pada tiket ini."))
        if (ticket["lapor_synced_event"] or 0) < event_id:
            await Complaint.update({Complaint.lapor_synced_event: event_id}).where(
                Complaint.id == ticket["id"]
            )
        await audit.record(
            "complaint.lapor_updated",
            actor_kind="staff",
            actor_id=staff_id,
            subject=f"complaint:{ticket['id']}",
            ip=ip,
            lapor_id=ticket["lapor_id"],
            event=event_id,
        )


# --- Import --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    numbers: list[str]


class ImportRefused(Exception):
    """Nothing of the batch was saved; ``errors`` maps a line number (0: the whole batch) to why."""

    def __init__(self, errors: dict[int, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def too_big_message(limit: int) -> str:
    return _("Data terlalu besar (paling banyak %(limit)s karakter atau byte).", limit=limit)


def too_many_message(limit: int) -> str:
    return _(
        "Paling banyak %(limit)s laporan sekali impor; bagi menjadi beberapa kali.", limit=limit
    )


def _kelurahan_in(location: str, city: City) -> str | None:
    """The kelurahan whose name the location text mentions (the longest name wins)."""
    text = location.lower()
    found = [
        kel
        for kel in city.all_kelurahan()
        if re.search(rf"(?<!\w){re.escape(kel.name.lower())}(?!\w)", text)
    ]
    return max(found, key=lambda kel: len(kel.name)).code if found else None


async def _drafts(rows: list[ImportRow], city: City, errors: dict[int, str]) -> list:
    categories = await Category.select(Category.slug, Category.name, Category.name_en).where(
        Category.active == True
    )
    by_name = {}
    for cat in categories:
        by_name[cat["name"].strip().lower()] = cat["slug"]
        by_name[cat["name_en"].strip().lower()] = cat["slug"]
    taken = {
        row["lapor_id"]: row["number"]
        for row in await Complaint.select(Complaint.lapor_id, Complaint.number).where(
            Complaint.lapor_id.is_in([r.lapor_id for r in rows] or ["-"])
        )
    }
    seen: dict[str, int] = {}
    drafts = []
    for row in rows:
        prefix = _("Baris %(line)s (%(id)s):", line=row.line, id=row.lapor_id)
        if row.lapor_id in taken:
            errors[row.line] = _duplicate_line(row, taken[row.lapor_id])
            continue
        if row.lapor_id in seen:
            errors[row.line] = _(
                "%(prefix)s nomor %(id)s sudah ada di baris %(other)s.",
                prefix=prefix,
                id=row.lapor_id,
                other=seen[row.lapor_id],
            )
            continue
        seen[row.lapor_id] = row.line
        problems = []
        slug = by_name.get(row.category.strip().lower())
        if slug is None:
            problems.append(_("kategori %(name)s tidak dikenal", name=row.category or "-"))
        kelurahan = _kelurahan_in(row.location, city)
        if kelurahan is None:
            problems.append(_("lokasi harus menyebut nama kelurahan di kota ini"))
        description = row.text
        if row.reported_on:
            description += "\n\n" + _(
                "(Dilaporkan di SP4N-LAPOR! pada %(day)s)", day=row.reported_on.isoformat()
            )
        values = {
            "client_key": str(uuid.uuid4()),
            "classification": "complaint",
            "category": slug or "",
            "title": row.title,
            "description": description,
            "address": row.location[:255],
            "kelurahan": kelurahan or "",
            "privacy": PUBLIC,
        }
        try:
            draft = parse_complaint_form(values, city)
        except FormErrors as exc:
            problems += [
                message for field, message in exc.errors.items() if field not in ("kelurahan",)
            ]
            draft = None
        if problems:
            errors[row.line] = f"{prefix} " + "; ".join(problems)
            continue
        drafts.append((row, draft))
    return drafts


async def import_reports(
    rows: list[ImportRow],
    *,
    city: City,
    storage: PhotoStorage,
    staff_id: int,
    ip: str = "",
    whatsapp_fallback: bool = False,
) -> ImportResult:
    """File every row as a "lapor" ticket through the same filing code as phone and walk-in, all
    in one transaction: any bad or duplicate row refuses the whole batch (ImportRefused)."""
    if not rows:
        raise ImportRefused({0: _("Tidak ada laporan untuk diimpor.")})
    errors: dict[int, str] = {}
    drafts = await _drafts(rows, city, errors)
    if errors:
        raise ImportRefused(errors)
    numbers = []
    try:
        # The filing code's own transactions join this one: the batch commits or rolls back whole.
        async with write_transaction():
            for row, draft in drafts:
                filed = await complaints.create_complaint(
                    draft,
                    citizen_id=None,
                    photos=[],
                    storage=storage,
                    city=city,
                    channel="lapor",
                    ip=ip,
                    staff_id=staff_id,
                    lapor_id=row.lapor_id,
                    whatsapp_fallback=whatsapp_fallback,
                )
                numbers.append(filed.number)
            await audit.record(
                "lapor.imported",
                actor_kind="staff",
                actor_id=staff_id,
                ip=ip,
                count=len(numbers),
                lapor_ids=[row.lapor_id for row, _draft in drafts],
            )
    except Exception as exc:
        log.warning("LAPOR! import rolled back: %r", exc)
        # Most often another operator filed one of these IDs a moment ago: the unique index said
        # so (on PostgreSQL behind the aborted transaction's own error). Name it, as the check
        # before the transaction would have; anything else is still refused whole.
        errors = await _taken_meanwhile(rows)
        raise ImportRefused(
            errors or {0: _("Impor dibatalkan, tidak ada yang tersimpan. Periksa lalu kirim lagi.")}
        ) from exc
    return ImportResult(numbers=numbers)


async def _taken_meanwhile(rows: list[ImportRow]) -> dict[int, str]:
    """The rows whose ID a ticket has now, each naming that ticket (one indexed query)."""
    taken = {
        row["lapor_id"]: row["number"]
        for row in await Complaint.select(Complaint.lapor_id, Complaint.number).where(
            Complaint.lapor_id.is_in([r.lapor_id for r in rows])
        )
    }
    return {
        row.line: _duplicate_line(row, taken[row.lapor_id]) for row in rows if row.lapor_id in taken
    }


def _duplicate_line(row: ImportRow, number: str) -> str:
    prefix = _("Baris %(line)s (%(id)s):", line=row.line, id=row.lapor_id)
    return f"{prefix} {duplicate_message(row.lapor_id, number)}"
