"""Ticket lists and detail for staff. Every list is one query with its joins and a keyset cursor;
no page does work proportional to the size of the table."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic
from zoneinfo import ZoneInfo

from piccolo.columns.combination import WhereRaw
from piccolo.engine.postgres import PostgresEngine

from db.engine import current_engine
from db.tables import Category, Complaint, ComplaintPhoto, Kecamatan, Kelurahan, Opd, TimelineEvent
from web.http import BadDate, cursor_moment, parse_day, row_id
from web.lapor.rules import looks_like_lapor_id, normalize_lapor_id
from web.vocabulary import CHANNELS, CLASSIFICATIONS, current_code
from web.workflow.sla import SlaState, sla_condition
from web.workflow.status import UNRESOLVED

PAGE_SIZE = 25
TICKET_NUMBER = re.compile(r"[A-Za-z]{2,5}-\d{4}-\d{6,7}")
DUPLICATE_RADIUS_M = 250
SORTS = ("newest", "oldest", "sla")
_SLA_FILTERS = (SlaState.ON_TIME, SlaState.NEAR_BREACH, SlaState.OVERDUE)
# Bookmarks from before the naming rule (README "Naming") still filter: their query names and
# sort codes are read as the current ones (their code values: vocabulary.current_code).
OLD_PARAMS = {"classification": "klasifikasi", "category": "kategori", "channel": "kanal"}
OLD_SORTS = {"terbaru": "newest", "terlama": "oldest"}


@dataclass(frozen=True)
class InboxFilters:
    status: str = ""
    classification: str = ""
    category: str = ""
    opd: int | None = None
    kecamatan: str = ""
    channel: str = ""
    sla: str = ""  # on_time | near_breach | overdue
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    sort: str = "newest"
    after: str = ""  # keyset cursor from the previous page
    # Field -> message for a filter that was ignored, and what was typed there (shown again).
    errors: dict[str, str] = field(default_factory=dict, compare=False)
    typed: dict[str, str] = field(default_factory=dict, compare=False)

    def as_query(self, **overrides) -> dict[str, str]:
        values = {
            "status": self.status,
            "klasifikasi": self.classification,
            "kategori": self.category,
            "opd": str(self.opd or ""),
            "kecamatan": self.kecamatan,
            "kanal": self.channel,
            "sla": self.sla,
            "dari": self.date_from.isoformat() if self.date_from else "",
            "sampai": self.date_to.isoformat() if self.date_to else "",
            "q": self.q,
            "urut": self.sort,
        }
        values.update(overrides)
        return {k: v for k, v in values.items() if v}


def parse_filters(params: dict[str, str]) -> InboxFilters:
    """Read filters from query parameters; anything malformed is ignored, never an error page.

    A bad date is ignored too, with a message for its field (the list still answers).
    """
    params = {**{OLD_PARAMS[k]: v for k, v in params.items() if k in OLD_PARAMS}, **params}
    opd = params.get("opd", "")
    sort = params.get("urut", "newest")
    sort = OLD_SORTS.get(sort, sort)
    days: dict[str, date | None] = {}
    errors: dict[str, str] = {}
    for name in ("dari", "sampai"):
        raw = (params.get(name) or "").strip()
        try:
            days[name] = parse_day(raw) if raw else None
        except BadDate as exc:
            days[name], errors[name] = None, exc.message
    return InboxFilters(
        status=params.get("status", ""),
        classification=current_code(params.get("klasifikasi", "")),
        category=params.get("kategori", ""),
        opd=row_id(opd),
        kecamatan=params.get("kecamatan", ""),
        channel=current_code(params.get("kanal", "")),
        sla=params.get("sla", "") if params.get("sla") in _SLA_FILTERS else "",
        date_from=days["dari"],
        date_to=days["sampai"],
        q=" ".join(params.get("q", "").split())[:100],
        sort=sort if sort in SORTS else "newest",
        after=params.get("setelah", ""),
        errors=errors,
        typed={name: params.get(name, "")[:100] for name in errors},
    )


LIST_COLUMNS = (
    Complaint.id,
    Complaint.number,
    Complaint.title,
    Complaint.status,
    Complaint.classification,
    Complaint.channel,
    Complaint.privacy,
    Complaint.created_at,
    Complaint.sla_started_at,
    Complaint.sla_warn_at,
    Complaint.sla_due_at,
    Complaint.version,
    Complaint.category.name.as_alias("category_name"),
    Complaint.category.name_en.as_alias("category_name_en"),
    Complaint.opd.short_name.as_alias("opd_name"),
    Complaint.kelurahan.name.as_alias("kelurahan_name"),
    Complaint.kelurahan._.kecamatan._.name.as_alias("kecamatan_name"),
    Complaint.api_key.client_name.as_alias("api_client_name"),
)


def _where(
    query,
    filters: InboxFilters,
    now: datetime,
    tz: ZoneInfo,
    opd_id: int | None,
    ref: Reference,
    lapor_id: str | None = None,
):
    if opd_id is not None:  # OPD staff see only their own agency's tickets
        query = query.where(Complaint.opd == opd_id)
    if filters.status:
        query = query.where(Complaint.status == filters.status)
    if filters.classification:
        query = query.where(Complaint.classification == filters.classification)
    # Codes become ids before the query (no joins): the planner can then use the
    # (category, status, id) index and stop after one page.
    if filters.category:
        query = query.where(Complaint.category == ref.category_ids.get(filters.category, -1))
    if filters.opd:
        query = query.where(Complaint.opd == filters.opd)
    if filters.kecamatan:
        in_kecamatan = ref.kelurahan_ids.get(filters.kecamatan) or [-1]
        query = query.where(Complaint.kelurahan.is_in(in_kecamatan))
    if filters.channel:
        query = query.where(Complaint.channel == filters.channel)
    if filters.sla:
        query = query.where(sla_condition(filters.sla, now))
    if filters.date_from:
        query = query.where(
            Complaint.created_at >= datetime.combine(filters.date_from, time.min, tz)
        )
    if filters.date_to:
        end = datetime.combine(filters.date_to + timedelta(days=1), time.min, tz)
        query = query.where(Complaint.created_at < end.astimezone(UTC))
    if lapor_id:  # "LAP-2026-000123" is shaped like a ticket number too
        query = query.where(Complaint.lapor_id == lapor_id)
    elif filters.q and TICKET_NUMBER.fullmatch(filters.q):
        # A ticket number is an exact lookup on its unique index, never a text search.
        query = query.where(Complaint.number == filters.q.upper())
    elif filters.q:
        if isinstance(current_engine(), PostgresEngine):
            # Full-text search on the stored tsvector (see the search_vector migration).
            query = query.where(
                WhereRaw("search_vector @@ plainto_tsquery('simple', {})", filters.q)
            )
        else:
            # SQLite's LIKE ignores ASCII case already. Escaped: a typed "%" or "_" is a character,
            # not a wildcard ("%" alone listed every ticket).
            pattern = f"%{like_escape(filters.q)}%"
            query = query.where(
                WhereRaw(
                    "(complaint.title LIKE {} ESCAPE '\\' OR complaint.description LIKE {} ESCAPE '\\')",
                    pattern,
                    pattern,
                )
            )
    return query


async def _lapor_match(q: str) -> str | None:
    """A search that is some ticket's SP4N-LAPOR! ID finds that ticket (one unique-index lookup);
    any other text stays a word search."""
    if not q or not looks_like_lapor_id(q):
        return None
    candidate = normalize_lapor_id(q)
    row = await Complaint.select(Complaint.id).where(Complaint.lapor_id == candidate).first()
    return candidate if row else None


def like_escape(text: str) -> str:
    """``text`` matched literally inside a LIKE pattern that says ESCAPE '\\'."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _keyset(query, filters: InboxFilters):
    """Order and continue after the cursor: ``id`` for age, ``(sla_due_at, id)`` for SLA."""
    cursor = filters.after
    if filters.sort == "sla":
        query = query.where(Complaint.sla_due_at.is_not_null())
        if cursor:
            due_raw, _, id_raw = cursor.partition("|")
            due = cursor_moment(due_raw)
            last_id = row_id(id_raw)
            if due is not None and last_id is not None:
                query = query.where(
                    (Complaint.sla_due_at > due)
                    | ((Complaint.sla_due_at == due) & (Complaint.id > last_id))
                )
        return query.order_by(Complaint.sla_due_at).order_by(Complaint.id)
    ascending = filters.sort == "oldest"
    if (after := row_id(cursor)) is not None:
        query = query.where(Complaint.id > after if ascending else Complaint.id < after)
    return query.order_by(Complaint.id, ascending=ascending)


def _cursor(row: dict, sort: str) -> str:
    if sort == "sla":
        return f"{row['sla_due_at'].isoformat()}|{row['id']}"
    return str(row["id"])


async def list_tickets(
    filters: InboxFilters, *, tz: ZoneInfo, opd_id: int | None = None, page_size: int = PAGE_SIZE
) -> tuple[list[dict], str | None]:
    """One page of tickets and the cursor for the next page (None on the last page)."""
    now = datetime.now(UTC)
    ref = await reference()

    # Late row lookup: first the page's ids (filters, order and cursor on indexed columns only),
    # then those rows with their joins. Joining before the LIMIT lets the planner join every
    # matching row of a large table first.
    lapor_id = await _lapor_match(filters.q)

    def page_keys(floor: int | None = None):
        query = _where(
            Complaint.select(Complaint.id, Complaint.sla_due_at),
            filters,
            now,
            tz,
            opd_id,
            ref,
            lapor_id,
        )
        if floor is not None:
            query = query.where(Complaint.id > floor)
        return _keyset(query, filters).limit(page_size + 1)

    keys = None
    if _searches_text(filters) and not lapor_id and filters.sort == "newest":
        # Newest first, by words: look among the newest tickets first. For a word in one ticket
        # of a thousand, PostgreSQL otherwise reads ~20,000 tickets (or ~1,000 scattered pages)
        # to fill one page; the id window lets it combine the word index with the BRIN index on
        # id and read only recent pages. When the window holds less than a page, ask again
        # without it (then the word is so rare that the word index alone is cheap).
        upper = row_id(filters.after) or await _newest_id()
        keys = await page_keys(floor=upper - SEARCH_WINDOW)
        if len(keys) <= page_size:
            keys = None
    if keys is None:
        keys = await page_keys()
    next_cursor = _cursor(keys[page_size - 1], filters.sort) if len(keys) > page_size else None
    ids = [key["id"] for key in keys[:page_size]]
    if not ids:
        return [], None
    rows = await Complaint.select(*LIST_COLUMNS).where(Complaint.id.is_in(ids))
    by_id = {row["id"]: row for row in rows}
    return [by_id[i] for i in ids], next_cursor


SEARCH_WINDOW = 100_000  # ids: the newest tickets a word search looks at first
NEWEST_ID_TTL_SECONDS = 30.0
_newest: tuple[float, int] | None = None


def _searches_text(filters: InboxFilters) -> bool:
    return (
        bool(filters.q)
        and not TICKET_NUMBER.fullmatch(filters.q)
        and isinstance(current_engine(), PostgresEngine)
    )


async def _newest_id() -> int:
    """The highest ticket id, remembered for half a minute: a slightly old value only lets the
    window start a little lower, never hides a ticket."""
    global _newest
    if _newest is None or monotonic() - _newest[0] > NEWEST_ID_TTL_SECONDS:
        row = await Complaint.select(Complaint.id).order_by(Complaint.id, ascending=False).first()
        _newest = (monotonic(), row["id"] if row else 0)
    return _newest[1]


@dataclass(frozen=True)
class Reference:
    """City reference data the inbox needs on every request: filter choices, and codes -> ids."""

    choices: dict
    category_ids: dict[str, int]
    kelurahan_ids: dict[str, list[int]]  # kecamatan code -> its kelurahan ids
    loaded_at: float


REFERENCE_TTL_SECONDS = 60.0
_reference: Reference | None = None


async def reference() -> Reference:
    """Cached per process for a minute: categories, OPDs and regions change a few times a year,
    and an admin's change reaches the other processes within REFERENCE_TTL_SECONDS."""
    global _reference
    if _reference is None or monotonic() - _reference.loaded_at > REFERENCE_TTL_SECONDS:
        categories = await Category.select(
            Category.id, Category.slug, Category.name, Category.name_en
        ).order_by(Category.position)
        opds = (
            await Opd.select(Opd.id, Opd.short_name, Opd.name)
            .where(Opd.active == True)
            .order_by(Opd.short_name)
        )
        kecamatan = await Kecamatan.select(Kecamatan.code, Kecamatan.name).order_by(Kecamatan.code)
        kelurahan = await Kelurahan.select(Kelurahan.id, Kelurahan.kecamatan.code.as_alias("kc"))
        kelurahan_ids: dict[str, list[int]] = {}
        for row in kelurahan:
            kelurahan_ids.setdefault(row["kc"], []).append(row["id"])
        _reference = Reference(
            choices={"categories": categories, "opds": opds, "kecamatan_list": kecamatan},
            category_ids={row["slug"]: row["id"] for row in categories},
            kelurahan_ids=kelurahan_ids,
            loaded_at=monotonic(),
        )
    return _reference


async def filter_choices() -> dict:
    return {
        **(await reference()).choices,
        "classifications": CLASSIFICATIONS,
        "channels": CHANNELS,
    }


async def ticket_detail(number: str) -> dict | None:
    return (
        await Complaint.select(
            *Complaint.all_columns(),
            Complaint.category.name.as_alias("category_name"),
            Complaint.category.name_en.as_alias("category_name_en"),
            Complaint.category.default_opd.as_alias("default_opd"),
            Complaint.opd.name.as_alias("opd_name"),
            Complaint.kelurahan.name.as_alias("kelurahan_name"),
            Complaint.kelurahan._.kecamatan._.name.as_alias("kecamatan_name"),
            # Not "reporter_name": that column holds what an operator noted for a phone caller.
            Complaint.citizen.name.as_alias("citizen_name"),
            Complaint.citizen.phone.as_alias("citizen_phone"),
            Complaint.duplicate_of.number.as_alias("duplicate_of_number"),
            Complaint.api_key.client_name.as_alias("api_client_name"),
        )
        .where(Complaint.number == number)
        .first()
    )


async def timeline(complaint_id: int, *, include_internal: bool) -> list[dict]:
    query = TimelineEvent.select(
        TimelineEvent.id,
        TimelineEvent.kind,
        TimelineEvent.from_status,
        TimelineEvent.to_status,
        TimelineEvent.note,
        TimelineEvent.reason_code,
        TimelineEvent.is_public,
        TimelineEvent.created_at,
        TimelineEvent.actor_kind,
        TimelineEvent.actor_staff.name.as_alias("staff_name"),
        TimelineEvent.opd.short_name.as_alias("opd_name"),
    ).where(TimelineEvent.complaint == complaint_id)
    if not include_internal:
        query = query.where(TimelineEvent.is_public == True)
    return await query.order_by(TimelineEvent.id)


async def photos(complaint_id: int) -> list[dict]:
    return (
        await ComplaintPhoto.select(ComplaintPhoto.id, ComplaintPhoto.kind, ComplaintPhoto.event)
        .where(ComplaintPhoto.complaint == complaint_id)
        .order_by(ComplaintPhoto.id)
    )


def _distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    r = 6_371_000
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


async def nearby_open_tickets(ticket: dict, radius_m: int = DUPLICATE_RADIUS_M) -> list[dict]:
    """Open tickets of the same category within ``radius_m``: candidates for "duplicate of"."""
    if ticket["latitude"] is None:
        return []
    dlat = radius_m / 111_320
    dlng = radius_m / (111_320 * max(0.1, math.cos(math.radians(ticket["latitude"]))))
    rows = (
        await Complaint.select(
            Complaint.id,
            Complaint.number,
            Complaint.title,
            Complaint.status,
            Complaint.created_at,
            Complaint.latitude,
            Complaint.longitude,
        )
        .where(
            (Complaint.category == ticket["category"])
            & (Complaint.id != ticket["id"])
            & Complaint.status.is_in(list(UNRESOLVED))
            & (Complaint.latitude >= ticket["latitude"] - dlat)
            & (Complaint.latitude <= ticket["latitude"] + dlat)
            & (Complaint.longitude >= ticket["longitude"] - dlng)
            & (Complaint.longitude <= ticket["longitude"] + dlng)
        )
        .order_by(Complaint.id, ascending=False)
        .limit(50)
    )
    result = []
    for row in rows:
        distance = _distance_m(
            ticket["latitude"], ticket["longitude"], row["latitude"], row["longitude"]
        )
        if distance <= radius_m:
            result.append({**row, "distance_m": round(distance)})
    return sorted(result, key=lambda r: r["distance_m"])[:10]
