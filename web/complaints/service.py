"""Filing and reading complaints.

``create_complaint`` is all-or-nothing: photos are stored first, then one transaction writes the
ticket, its photos, its first timeline event and the audit row. Any failure removes the stored files
again, so a failed request leaves neither rows nor orphan files.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from db.city_data import City, Question, questions_from_json
from db.engine import write_transaction
from db.tables import Category, Complaint, ComplaintPhoto, Kelurahan, TicketSequence, TimelineEvent
from web import audit, ticket_feed
from web.complaints.forms import ComplaintDraft
from web.complaints.questions import (
    FIELD_PREFIX,
    Answer,
    answers_from_form,
    check_answers,
    errors_as_fields,
    shown_from_form,
)
from web.errors import UserError
from web.forms import FormErrors, check_text, parse_int
from web.i18n import _
from web.notifications import notify_ticket_event
from web.photos.pipeline import ProcessedPhoto
from web.photos.service import insert_photo_rows, remove_stored, store_photos
from web.photos.storage import PhotoStorage, StorageError
from web.workflow.status import DONE, Status

log = logging.getLogger("aduan.complaints")

PAGE_SIZE = 20


class ComplaintConflict(Exception):
    """The idempotency key belongs to someone else's ticket."""


class FilingUnavailable(UserError):
    """A fault on our side that passes (storage down): nothing was kept, the same send may be
    retried later with the same key. ``message`` is for the citizen."""


@dataclass(frozen=True)
class ApiFiler:
    """The API key a ticket came in through (web/open311): stored on the ticket, named in the
    audit row."""

    id: int
    name: str
    client_name: str


@dataclass(frozen=True)
class FiledComplaint:
    id: int
    number: str
    created: bool  # False when an earlier submission with the same key already made it


async def find_by_client_key(client_key: uuid.UUID) -> dict | None:
    return (
        await Complaint.select(Complaint.id, Complaint.number, Complaint.citizen)
        .where(Complaint.client_key == client_key)
        .first()
    )


def _existing_for(row: dict, citizen_id: int | None) -> FiledComplaint:
    if row["citizen"] != citizen_id:
        raise ComplaintConflict(row["number"])
    return FiledComplaint(id=row["id"], number=row["number"], created=False)


async def _resolve_references(draft: ComplaintDraft) -> tuple[int, int | None]:
    errors: dict[str, str] = {}
    category = (
        await Category.select(Category.id)
        .where((Category.slug == draft.category_slug) & (Category.active == True))
        .first()
    )
    if category is None:
        errors["category"] = _("Kategori tidak dikenal. Pilih dari daftar.")
    kelurahan_id = None
    if draft.kelurahan_code:
        kelurahan = (
            await Kelurahan.select(Kelurahan.id)
            .where(Kelurahan.code == draft.kelurahan_code)
            .first()
        )
        if kelurahan is None:
            errors["kelurahan"] = _("Kelurahan tidak dikenal. Pilih dari daftar.")
        else:
            kelurahan_id = kelurahan["id"]
    if errors or category is None:  # no category always comes with its error
        raise FormErrors(errors)
    return category["id"], kelurahan_id


async def next_ticket_number(city: City, now: datetime) -> str:
    """``CLG-2026-000123``: per-city prefix, the year in the city's time zone, a yearly counter.

    Runs inside the create transaction: the upsert's row lock hands out each number once, and a
    rolled-back filing gives its number back.
    """
    year = now.astimezone(ZoneInfo(city.timezone)).year
    scope = f"{city.ticket_prefix}-{year}"
    rows = await TicketSequence.raw(
        "INSERT INTO ticket_sequence (scope, last_value) VALUES ({}, 1) "
        "ON CONFLICT (scope) DO UPDATE SET last_value = ticket_sequence.last_value + 1 "
        "RETURNING last_value",
        scope,
    )
    return f"{scope}-{rows[0]['last_value']:06d}"


async def create_complaint(
    draft: ComplaintDraft,
    *,
    citizen_id: int | None,
    photos: list[ProcessedPhoto],
    storage: PhotoStorage,
    city: City,
    channel: str = "pwa",
    ip: str = "",
    staff_id: int | None = None,
    reporter_name: str = "",
    reporter_contact: str = "",
    whatsapp_fallback: bool = False,
    attributes: str | None = None,
    api_key: ApiFiler | None = None,
    lapor_id: str | None = None,
) -> FiledComplaint:
    """File a ticket. Citizens file their own; an operator (``staff_id``) files on someone's
    behalf; another system files through an API key (``api_key``, audited under its name)."""
    existing = await find_by_client_key(draft.client_key)
    if existing:
        return _existing_for(existing, citizen_id)
    category_id, kelurahan_id = await _resolve_references(draft)

    stored: list[str] = []
    try:
        placed = await store_photos(storage, str(draft.client_key), photos, stored)
    except StorageError as exc:
        await remove_stored(storage, stored)
        log.error("photo storage failed while filing: %s", exc)
        raise FilingUnavailable(
            _(
                "Foto tidak dapat disimpan saat ini. Laporan belum terkirim; coba lagi sebentar lagi."
            )
        ) from exc
    except BaseException:
        await remove_stored(storage, stored)
        raise

    try:
        filed = await _insert(
            draft,
            citizen_id,
            category_id,
            kelurahan_id,
            placed,
            city,
            channel,
            ip,
            staff_id=staff_id,
            reporter_name=reporter_name,
            reporter_contact=reporter_contact,
            whatsapp_fallback=whatsapp_fallback,
            attributes=attributes,
            api_key=api_key,
            lapor_id=lapor_id,
        )
    except BaseException:
        await remove_stored(storage, stored)
        # Two sends of one outbox item can race: the loser's unique violation means "already filed".
        existing = await find_by_client_key(draft.client_key)
        if existing:
            return _existing_for(existing, citizen_id)
        raise
    return filed


async def _insert(
    draft,
    citizen_id,
    category_id,
    kelurahan_id,
    placed,
    city,
    channel,
    ip,
    *,
    staff_id=None,
    reporter_name="",
    reporter_contact="",
    whatsapp_fallback=False,
    attributes=None,
    api_key: ApiFiler | None = None,
    lapor_id=None,
) -> FiledComplaint:
    now = datetime.now(UTC)
    async with write_transaction():
        number = await next_ticket_number(city, now)
        rows = await Complaint.insert(
            Complaint(
                number=number,
                client_key=draft.client_key,
                citizen=citizen_id,
                reporter_name=reporter_name,
                reporter_contact=reporter_contact,
                filed_by_staff=staff_id,
                classification=draft.classification,
                category=category_id,
                title=draft.title,
                description=draft.description,
                latitude=draft.latitude,
                longitude=draft.longitude,
                location_accuracy_m=draft.accuracy_m,
                address=draft.address,
                kelurahan=kelurahan_id,
                privacy=draft.privacy,
                status=Status.RECEIVED,
                channel=channel,
                attributes=attributes,
                lapor_id=lapor_id,
                api_key=api_key.id if api_key else None,
                created_at=now,
                updated_at=now,
            )
        ).returning(Complaint.id)
        complaint_id = rows[0]["id"]
        await insert_photo_rows(complaint_id, placed, kind="report", now=now)
        await ticket_feed.announce(complaint_id)  # the live inbox hears it once this commits
        await TimelineEvent.insert(
            TimelineEvent(
                complaint=complaint_id,
                kind="created",
                to_status=Status.RECEIVED,
                actor_kind="staff" if staff_id else "citizen",
                actor_citizen=None if staff_id else citizen_id,
                actor_staff=staff_id,
                is_public=True,
                created_at=now,
            )
        )
        await notify_ticket_event(
            complaint_id,
            "created",
            now=now,
            actor_citizen=None if staff_id else citizen_id,
            actor_staff=staff_id,
            whatsapp_fallback=whatsapp_fallback,
        )
        by_key = {"api_key": api_key.name, "client": api_key.client_name} if api_key else {}
        await audit.record(
            "complaint.created",
            actor_kind="api_key" if api_key else "staff" if staff_id else "citizen",
            actor_id=api_key.id if api_key else staff_id or citizen_id,
            subject=f"complaint:{complaint_id}",
            ip=ip,
            number=number,
            photos=len(placed),
            channel=channel,
            **by_key,
            **({"lapor_id": lapor_id} if lapor_id else {}),
        )
    return FiledComplaint(id=complaint_id, number=number, created=True)


# --- Reading ---------------------------------------------------------------------------------


async def list_for_citizen(
    citizen_id: int, *, before_id: int | None = None
) -> tuple[list[dict], int | None]:
    """One page of the citizen's tickets, newest first (keyset on id); returns (rows, next_before_id)."""
    query = Complaint.select(
        Complaint.id,
        Complaint.number,
        Complaint.title,
        Complaint.status,
        Complaint.classification,
        Complaint.created_at,
        Complaint.category.name.as_alias("category_name"),
        Complaint.category.name_en.as_alias("category_name_en"),
        Complaint.kelurahan.name.as_alias("kelurahan_name"),
    ).where(Complaint.citizen == citizen_id)
    if before_id:
        query = query.where(Complaint.id < before_id)
    rows = await query.order_by(Complaint.id, ascending=False).limit(PAGE_SIZE + 1)
    next_before = rows[PAGE_SIZE - 1]["id"] if len(rows) > PAGE_SIZE else None
    return rows[:PAGE_SIZE], next_before


async def get_for_citizen(number: str, citizen_id: int) -> dict | None:
    """The ticket if this citizen filed it, else None (no hint whether it exists)."""
    return (
        await Complaint.select(
            *Complaint.all_columns(),
            Complaint.category.name.as_alias("category_name"),
            Complaint.category.name_en.as_alias("category_name_en"),
            Complaint.kelurahan.name.as_alias("kelurahan_name"),
            # `._` is Piccolo's typed way across a second foreign key (same SQL).
            Complaint.kelurahan._.kecamatan.name.as_alias("kecamatan_name"),
            Complaint.opd.name.as_alias("opd_name"),
        )
        .where((Complaint.number == number) & (Complaint.citizen == citizen_id))
        .first()
    )


async def public_timeline(complaint_id: int) -> list[dict]:
    """What the citizen sees: public steps and the OPD's replies; internal notes never."""
    return (
        await TimelineEvent.select(
            TimelineEvent.id,
            TimelineEvent.kind,
            TimelineEvent.opd.short_name.as_alias("opd_name"),
            TimelineEvent.to_status,
            TimelineEvent.note,
            TimelineEvent.created_at,
        )
        .where((TimelineEvent.complaint == complaint_id) & (TimelineEvent.is_public == True))
        .order_by(TimelineEvent.id)
    )


async def photos_of(complaint_id: int) -> list[dict]:
    return (
        await ComplaintPhoto.select(
            ComplaintPhoto.id,
            ComplaintPhoto.kind,
            ComplaintPhoto.event,
            ComplaintPhoto.width,
            ComplaintPhoto.height,
        )
        .where(ComplaintPhoto.complaint == complaint_id)
        .order_by(ComplaintPhoto.position)
    )


async def form_choices() -> dict:
    """Categories and kelurahan (grouped by kecamatan) for the filing form, in two queries."""
    categories = (
        await Category.select(Category.slug, Category.name, Category.name_en, Category.questions)
        .where(Category.active == True)
        .order_by(Category.position)
    )
    for category in categories:  # the questions go into the page: asked offline too
        category["questions"] = questions_from_json(category["questions"])
    kelurahan = (
        await Kelurahan.select(
            Kelurahan.code,
            Kelurahan.name,
            Kelurahan.kecamatan.name.as_alias("kecamatan_name"),
            Kelurahan.kecamatan.code.as_alias("kecamatan_code"),
        )
        .order_by(Kelurahan.kecamatan.code)
        .order_by(Kelurahan.code)
    )
    groups: dict[str, dict] = {}
    for row in kelurahan:
        group = groups.setdefault(
            row["kecamatan_code"], {"name": row["kecamatan_name"], "kelurahan": []}
        )
        group["kelurahan"].append(row)
    return {"categories": categories, "kecamatan": list(groups.values())}


async def category_questions(slug: str) -> tuple[Question, ...]:
    """The questions a category asks now (none for an unknown slug: the form's check says so)."""
    if not slug or "\x00" in slug:
        return ()
    row = await Category.select(Category.questions).where(Category.slug == slug).first()
    return questions_from_json(row["questions"]) if row else ()


async def checked_answers(
    getall: Callable[[str], Sequence[object]], slug: str, city: City, *, as_shown: bool = False
) -> list[Answer]:
    """The chosen category's answers from one of our forms (citizen's or operator's), checked;
    FormErrors keyed by the forms' field names.

    ``as_shown``: hold the form only to the questions it says it showed (the citizen's form,
    maybe sent from an offline copy days old). The operator's intake is held to today's
    questions: the operator sees the refusal, with the new question, and asks the caller."""
    questions = await category_questions(slug)
    try:
        return check_answers(
            questions,
            answers_from_form(getall, slug, questions),
            tz=ZoneInfo(city.timezone),
            shown=shown_from_form(getall, slug) if as_shown else None,
        )
    except FormErrors as exc:
        raise FormErrors(errors_as_fields(exc.errors, slug)) from exc


def typed_answers(form) -> dict[str, list[str]]:
    """Every category's answers as typed, for a form page that comes back with an error."""
    return {
        name: [v for v in form.getall(name) if isinstance(v, str)]
        for name in form
        if name.startswith(FIELD_PREFIX)
    }


def _already_rated() -> str:
    return _("Laporan ini sudah Anda nilai. Penilaian hanya bisa diberikan sekali.")


async def rate(number: str, citizen_id: int, *, stars: str, comment: str) -> None:
    """The reporter rates the handling 1-5 once the OPD has resolved the ticket; the first rating
    is final (FormErrors after that), so a ticket has one rating and one "rated" event."""
    rating = parse_int(stars, minimum=1, maximum=5)
    if rating is None:
        raise FormErrors.single("rating", _("Pilih nilai 1 sampai 5."))
    check_text({"comment": comment})
    comment = comment.strip()
    ticket = await get_for_citizen(number, citizen_id)
    if ticket is None:
        raise FormErrors.single("rating", _("Laporan tidak ditemukan."))
    if ticket["status"] not in DONE:
        raise FormErrors.single(
            "rating", _("Penilaian bisa diberikan setelah laporan diselesaikan.")
        )
    if ticket["rating"] is not None:
        raise FormErrors.single("rating", _already_rated())
    now = datetime.now(UTC)
    async with write_transaction():
        # Taken and checked in one statement: of two parallel posts, only one finds no rating.
        rated = (
            await Complaint.update({Complaint.rating: rating, Complaint.rating_comment: comment})
            .where((Complaint.id == ticket["id"]) & Complaint.rating.is_null())
            .returning(Complaint.id)
        )
        if not rated:
            raise FormErrors.single("rating", _already_rated())
        await ticket_feed.announce(ticket["id"])
        await TimelineEvent.insert(
            TimelineEvent(
                complaint=ticket["id"],
                kind="rated",
                actor_kind="citizen",
                actor_citizen=citizen_id,
                note=f"{stars}/5" + (f" — {comment}" if comment else ""),
                is_public=True,
                created_at=now,
            )
        )
        await audit.record(
            "complaint.rated",
            actor_kind="citizen",
            actor_id=citizen_id,
            subject=f"complaint:{ticket['id']}",
            rating=rating,
        )
