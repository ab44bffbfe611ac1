"""What the Open311 API lets anyone read: services (our categories) and public tickets as requests.

The public rule is /transparansi's (``public.listed``: past verification, never confidential),
and so is the rounding of coordinates. Never returned: the reporter (name, phone, NIK, email), the
description the citizen typed, free-text notes or photos, which /transparansi keeps private too.
So ``description`` is the ticket's title, ``status_notes`` the status label, ``address`` the
kelurahan, and ``media_url`` is left out (no photo of a ticket is public today).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from db.tables import Category, Complaint
from web.i18n import _, get_locale
from web.reports import public
from web.vocabulary import status_label
from web.workflow.status import DONE, OPEN_STATUSES

WINDOW_DAYS = 90
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
# A bounded offset: deeper pages cost a scan; narrow the dates instead.
MAX_OFFSET = 10_000
MAX_IDS = MAX_PAGE_SIZE


class ParamError(ValueError):
    """A query parameter the spec does not allow; the message goes to the client as is."""


def _name(row: dict, prefix: str = "") -> str:
    english = row.get(f"{prefix}name_en") or ""
    return english if get_locale() == "en" and english else row[f"{prefix}name"]


# --- Services ---------------------------------------------------------------------------------


async def service_list() -> list[dict]:
    rows = await (
        Category.select(
            Category.slug,
            Category.name,
            Category.name_en,
            Category.questions,
            Category.default_opd.name.as_alias("opd_name"),
        )
        .where(Category.active.eq(True))
        .order_by(Category.position)
    )
    return [
        {
            "service_code": row["slug"],
            "service_name": _name(row),
            "description": _name(row),
            "metadata": json.loads(row["questions"] or "[]") != [],
            "type": "realtime",
            "keywords": "",
            "group": row["opd_name"],
        }
        for row in rows
    ]


async def service_definition(code: str) -> dict | None:
    """The category's own questions as the spec's attributes (``variable``: the client answers)."""
    row = (
        await Category.select(Category.questions)
        .where((Category.slug == code) & Category.active.eq(True))
        .first()
    )
    if row is None:
        return None
    attributes = [
        {
            "variable": True,
            "code": q["code"],
            "datatype": q["datatype"],
            "required": q["required"],
            "datatype_description": "",
            "order": q["order"],
            "description": q["description"],
            **({"values": q["values"]} if q["values"] else {}),
        }
        for q in json.loads(row["questions"] or "[]")
    ]
    return {"service_code": code, "attributes": attributes}


# --- Requests ---------------------------------------------------------------------------------


def parse_moment(raw: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ParamError(
            _("%(name)s: bukan tanggal ISO 8601 (contoh: 2026-01-31T00:00:00Z).", name=name)
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)  # compared as stored (UTC) by both engines


def _positive(raw: str | None, name: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6 or int(raw) < 1:
        raise ParamError(_("%(name)s: bilangan bulat mulai dari 1.", name=name))
    return int(raw)


@dataclass(frozen=True)
class RequestQuery:
    ids: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    bbox: tuple[float, float, float, float] | None = None  # (west, south, east, north)


def _bbox_message() -> str:
    return _("bbox: barat,selatan,timur,utara dalam derajat.")


def _list(raw: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in (raw or "").split(",") if v.strip()))


def parse_request_query(params: dict[str, str], now: datetime) -> RequestQuery:
    """The GET requests parameters, checked; the date window defaults to the last 90 days."""
    ids = _list(params.get("service_request_id"))
    if len(ids) > MAX_IDS:
        raise ParamError(_("service_request_id: paling banyak %(n)s nomor.", n=MAX_IDS))
    statuses = _list(params.get("status"))
    if any(s not in ("open", "closed") for s in statuses):
        raise ParamError(_("status: open atau closed."))
    start = parse_moment(params["start_date"], "start_date") if params.get("start_date") else None
    end = parse_moment(params["end_date"], "end_date") if params.get("end_date") else None
    window = timedelta(days=WINDOW_DAYS)
    try:
        if end is None:
            end = start + window if start is not None else now
        if start is None:
            start = end - window
    except OverflowError:
        raise ParamError(_("start_date/end_date: di luar jangkauan.")) from None
    if end < start:
        raise ParamError(_("end_date lebih awal dari start_date."))
    if end - start > window:
        raise ParamError(
            _("Rentang start_date sampai end_date paling lama %(n)s hari.", n=WINDOW_DAYS)
        )
    page = _positive(params.get("page"), "page", 1)
    page_size = _positive(params.get("page_size"), "page_size", DEFAULT_PAGE_SIZE)
    if page_size > MAX_PAGE_SIZE:
        raise ParamError(_("page_size: paling banyak %(n)s.", n=MAX_PAGE_SIZE))
    if (page - 1) * page_size > MAX_OFFSET:
        raise ParamError(
            _("page: paling jauh %(n)s laporan dari awal; persempit rentang tanggal.", n=MAX_OFFSET)
        )
    bbox = None
    if params.get("bbox"):
        try:
            west, south, east, north = (float(v) for v in params["bbox"].split(","))
        except ValueError:
            raise ParamError(_bbox_message()) from None
        if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
            raise ParamError(_bbox_message())
        bbox = (west, south, east, north)
    return RequestQuery(
        ids=ids,
        codes=_list(params.get("service_code")),
        statuses=statuses,
        start=start,
        end=end,
        page=page,
        page_size=page_size,
        bbox=bbox,
    )


COLUMNS = (
    Complaint.id,
    Complaint.number,
    Complaint.title,
    Complaint.status,
    Complaint.latitude,
    Complaint.longitude,
    Complaint.sla_due_at,
    Complaint.created_at,
    Complaint.updated_at,
    Complaint.category.slug.as_alias("category_slug"),
    Complaint.category.name.as_alias("category_name"),
    Complaint.category.name_en.as_alias("category_name_en"),
    Complaint.opd.name.as_alias("opd_name"),
    Complaint.kelurahan.code.as_alias("kelurahan_code"),
    Complaint.kelurahan.name.as_alias("kelurahan_name"),
)


def as_request(row: dict) -> dict:
    """One public ticket in the spec's fields (see the module docstring for what is left out)."""
    lat, lng = row["latitude"], row["longitude"]
    located = lat is not None and lng is not None
    return {
        "service_request_id": row["number"],
        "status": "closed" if row["status"] in DONE else "open",
        "status_notes": status_label(row["status"]),
        "service_name": _name(row, "category_"),
        "service_code": row["category_slug"],
        "description": row["title"],
        "agency_responsible": row["opd_name"] or "",
        "service_notice": "",
        "requested_datetime": row["created_at"],
        "updated_datetime": row["updated_at"],
        "expected_datetime": row["sla_due_at"],
        "address": row["kelurahan_name"] or "",
        "address_id": row["kelurahan_code"] or "",
        "lat": public.rounded_coordinate(lat) if located else None,
        "long": public.rounded_coordinate(lng) if located else None,
    }


async def one_request(number: str) -> dict | None:
    row = await Complaint.select(*COLUMNS).where(public.listed() & (Complaint.number == number))
    return as_request(row[0]) if row else None


async def request_list(query: RequestQuery) -> list[dict]:
    """One page of public tickets, newest first: two indexed queries whatever the page holds."""
    where = public.listed()
    if query.ids:  # the spec: ids override every other parameter
        rows = await Complaint.select(*COLUMNS).where(
            where & Complaint.number.is_in(list(query.ids))
        )
        order = {number: i for i, number in enumerate(query.ids)}
        return [as_request(r) for r in sorted(rows, key=lambda r: order[r["number"]])]
    where &= (Complaint.created_at >= query.start) & (Complaint.created_at <= query.end)
    if query.codes:
        categories = await Category.select(Category.id).where(
            Category.slug.is_in(list(query.codes))
        )
        if not categories:
            return []
        where &= Complaint.category.is_in([c["id"] for c in categories])
    if query.statuses and len(query.statuses) == 1:
        wanted = DONE if query.statuses[0] == "closed" else OPEN_STATUSES
        where &= Complaint.status.is_in(sorted(wanted))
    if query.bbox is not None:
        west, south, east, north = query.bbox
        where &= (
            (Complaint.longitude >= west)
            & (Complaint.longitude <= east)
            & (Complaint.latitude >= south)
            & (Complaint.latitude <= north)
        )
    # Late row lookup, in one statement: the page's ids come from a covering index of the public
    # tickets, by time or by place (every filter is read there, no table row is visited for a
    # skipped one, however deep the page), and only those ids are joined to their category, OPD
    # and kelurahan. On PostgreSQL; see the open311_indexes migration.
    page = (
        Complaint.select(Complaint.id)
        .where(where)
        .order_by(Complaint.created_at, Complaint.id, ascending=False)
        .limit(query.page_size)
        .offset((query.page - 1) * query.page_size)
    )
    rows = (
        await Complaint.select(*COLUMNS)
        .where(Complaint.id.is_in(page))
        .order_by(Complaint.created_at, Complaint.id, ascending=False)
    )
    return [as_request(r) for r in rows]
