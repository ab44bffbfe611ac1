"""The public transparency page (no sign-in): city figures, a list and a map of public tickets.

What is public: tickets whose privacy is public or anonymous (confidential never appears, not even in a
count). The figures cover such tickets created in the last 365 days; the list and the map show
only tickets past verification (verified, dispatched, in progress, resolved, closed) with their
number, title, category, kelurahan, status and date: never the reporter, the description or
photos. Map points are rounded here to 3 decimals (about 100 m): the exact location never leaves
the server.

Freshness without heavy work on a request: the city figures (one aggregate over a year of
tickets) are computed by the worker's ``refresh_snapshot`` job and stored in ``public_snapshot``
with the key of the ticket state they came from. Each web process keeps the page's figures, first
page and map under a key; the live key is ``max(complaint.updated_at)`` (one indexed lookup per
request) and the clock in ``CACHE_SECONDS`` (because "overdue" moves with the clock). When the live
key differs from the kept one, the process rebuilds, at most every ADUAN_PUBLIC_REFRESH_SECONDS,
reading the stored snapshot. That snapshot may still be the one from before the change (the worker
refreshes it at most every ADUAN_PUBLIC_REFRESH_SECONDS too): the process then files it under the
snapshot's own key, never the live one, so it looks again on the next rebuild. Every process
therefore shows new stored figures within one interval of the worker storing them, and a change
within two intervals. A web process computes the aggregate itself only when there is no snapshot,
or when it is out of date and older than twice the refresh interval (no worker running). While one
request rebuilds, others get the previous copy.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from time import monotonic
from typing import Any

from db.tables import Category, Complaint, Kelurahan, Opd, PublicSnapshot
from web.reports.figures import compliance_percent
from web.workflow.sla import SlaState, sla_sql
from web.workflow.status import DONE, Status, sql_in

PUBLIC_PRIVACY = ("public", "anonymous")
# Past verification and not sent back: what the city has accepted to work on.
LISTED_STATUSES = (
    Status.VERIFIED,
    Status.DISPATCHED,
    Status.IN_PROGRESS,
    Status.RESOLVED,
    Status.CLOSED,
)
WINDOW_DAYS = 365
PAGE_SIZE = 25
MAP_LIMIT = 500
MAP_DECIMALS = 3
CACHE_SECONDS = 300


@dataclass
class Breakdown:
    name: str
    name_en: str = ""  # categories only (the city file's English name); none in older snapshots
    total: int = 0
    done: int = 0
    done_on_time: int = 0
    overdue: int = 0

    @property
    def compliance(self) -> float | None:
        return compliance_percent(self.done_on_time, self.done, self.overdue)


@dataclass
class PublicFigures:
    since: date
    by_status: dict[str, int]
    city: Breakdown
    by_category: list[Breakdown]
    by_kecamatan: list[Breakdown]
    by_opd: list[Breakdown]
    first_page: list[dict]
    next_cursor: int | None
    map: dict = field(default_factory=dict)


async def compute_aggregates(now: datetime) -> dict:
    """The city figures over the last year of public tickets, as JSON-ready data.

    The one heavy query of the page (it reads the whole window): run by the worker's
    ``refresh_snapshot`` job, on a request only when no worker keeps the snapshot fresh.
    """
    since = now - timedelta(days=WINDOW_DAYS)
    overdue, overdue_args = sla_sql(SlaState.OVERDUE, now)
    # One scan of the window grouped by every dimension at once; rolled up below in Python
    # (at most statuses x categories x kelurahan x OPDs rows, a few thousand).
    rows = await Complaint.raw(
        "SELECT status, category, kelurahan, opd, count(*) AS n, "
        f"sum(CASE WHEN status IN {sql_in(DONE)} AND resolved_at <= sla_due_at THEN 1 ELSE 0 END) "
        "AS on_time, "
        f"sum(CASE WHEN {overdue} THEN 1 ELSE 0 END) AS overdue "
        f"FROM complaint WHERE created_at >= {{}} AND privacy IN {sql_in(PUBLIC_PRIVACY)} "
        "GROUP BY status, category, kelurahan, opd",
        *overdue_args,
        since,
    )
    categories = {
        r["id"]: (r["name"], r["name_en"])
        for r in await Category.select(Category.id, Category.name, Category.name_en).order_by(
            Category.position
        )
    }
    kelurahan = {
        r["id"]: r["kecamatan_name"]
        for r in await Kelurahan.select(
            Kelurahan.id, Kelurahan.kecamatan.name.as_alias("kecamatan_name")
        )
    }
    opds = {r["id"]: r["short_name"] for r in await Opd.select(Opd.id, Opd.short_name)}

    by_status: dict[str, int] = {}
    city = Breakdown("")
    groups: dict[str, dict[Any, Breakdown]] = {"category": {}, "kecamatan": {}, "opd": {}}
    for row in rows:
        n, status = int(row["n"]), row["status"]
        by_status[status] = by_status.get(status, 0) + n
        kecamatan = kelurahan.get(row["kelurahan"]) if row["kelurahan"] else None
        opd = opds.get(row["opd"]) if row["opd"] else None
        keys = {  # group -> (name, English name)
            "category": categories.get(row["category"], ("?", "")),
            "kecamatan": (kecamatan, "") if kecamatan else None,
            "opd": (opd, "") if opd else None,
        }
        for target in [city] + [
            groups[g].setdefault(names[0], Breakdown(*names)) for g, names in keys.items() if names
        ]:
            target.total += n
            target.done += n if status in DONE else 0
            target.done_on_time += int(row["on_time"] or 0)
            target.overdue += int(row["overdue"] or 0)

    def ordered(group: dict) -> list[dict]:
        return [asdict(b) for b in sorted(group.values(), key=lambda b: (-b.total, b.name))]

    return {
        "since": since.date().isoformat(),
        "by_status": by_status,
        "city": asdict(city),
        "by_category": ordered(groups["category"]),
        "by_kecamatan": ordered(groups["kecamatan"]),
        "by_opd": ordered(groups["opd"]),
    }


SNAPSHOT = "public"


async def _store_snapshot(aggregates: dict, key: str, now: datetime) -> None:
    await PublicSnapshot.insert(
        PublicSnapshot(
            name=SNAPSHOT, figures=json.dumps(aggregates), source_key=key, computed_at=now
        )
    ).on_conflict(
        target=PublicSnapshot.name,
        action="DO UPDATE",
        values=[PublicSnapshot.figures, PublicSnapshot.source_key, PublicSnapshot.computed_at],
    )


async def refresh_snapshot(*, now: datetime) -> str:
    """The worker's job: recompute the city figures when tickets changed since the last time."""
    key = await cache_key(now)
    stored = (
        await PublicSnapshot.select(PublicSnapshot.source_key)
        .where(PublicSnapshot.name == SNAPSHOT)
        .first()
    )
    if stored is not None and stored["source_key"] == key:
        return ""
    await _store_snapshot(await compute_aggregates(now), key, now)
    return "public figures refreshed"


async def load_aggregates(
    now: datetime, *, key: str, stale_after_seconds: float
) -> tuple[dict, str]:
    """The city figures and the key of the ticket state they were computed from.

    The stored figures, even when out of date (a worker will refresh them), as long as they are
    younger than ``stale_after_seconds``; computed here (and stored) when there are none, or when
    they are out of date and older than that (no worker is refreshing them). The returned key is
    the stored one, not ``key``: the caller must file out-of-date figures under the state they
    describe, or it would keep them as if they were current until the next change.
    """
    stored = (
        await PublicSnapshot.select(
            PublicSnapshot.figures, PublicSnapshot.source_key, PublicSnapshot.computed_at
        )
        .where(PublicSnapshot.name == SNAPSHOT)
        .first()
    )
    if stored is not None and (
        stored["source_key"] == key
        or (now - stored["computed_at"]).total_seconds() < stale_after_seconds
    ):
        return json.loads(stored["figures"]), stored["source_key"]
    aggregates = await compute_aggregates(now)
    await _store_snapshot(aggregates, key, now)
    return aggregates, key


async def compute(
    now: datetime, *, key: str = "", stale_after_seconds: float = 0
) -> tuple[PublicFigures, str]:
    """The page's figures, and the key of the ticket state their city figures describe."""
    aggregates, source_key = await load_aggregates(
        now, key=key, stale_after_seconds=stale_after_seconds
    )
    first_page, next_cursor = await public_tickets()
    figures = PublicFigures(
        since=date.fromisoformat(aggregates["since"]),
        by_status=aggregates["by_status"],
        city=Breakdown(**aggregates["city"]),
        by_category=[Breakdown(**b) for b in aggregates["by_category"]],
        by_kecamatan=[Breakdown(**b) for b in aggregates["by_kecamatan"]],
        by_opd=[Breakdown(**b) for b in aggregates["by_opd"]],
        first_page=first_page,
        next_cursor=next_cursor,
        map=await map_points(),
    )
    return figures, source_key


def rounded_coordinate(value: float) -> float:
    """A public latitude or longitude: about 100 m, so the exact location never leaves the server."""
    return round(value, MAP_DECIMALS)


def listed():
    """Tickets the public may see listed (here and on the Open311 API): past verification, not secret."""
    return Complaint.status.is_in(list(LISTED_STATUSES)) & Complaint.privacy.is_in(
        list(PUBLIC_PRIVACY)
    )


async def public_tickets(after: int | None = None) -> tuple[list[dict], int | None]:
    """One page of public tickets, newest first, and the cursor for the next page."""
    # Late row lookup: the page's ids on the primary key first, then only those rows joined.
    query = Complaint.select(Complaint.id).where(listed())
    if after is not None:
        query = query.where(Complaint.id < after)
    keys = await query.order_by(Complaint.id, ascending=False).limit(PAGE_SIZE + 1)
    ids = [k["id"] for k in keys[:PAGE_SIZE]]
    if not ids:
        return [], None
    rows = await Complaint.select(
        Complaint.id,
        Complaint.number,
        Complaint.title,
        Complaint.status,
        Complaint.created_at,
        Complaint.category.name.as_alias("category_name"),
        Complaint.category.name_en.as_alias("category_name_en"),
        Complaint.kelurahan.name.as_alias("kelurahan_name"),
    ).where(Complaint.id.is_in(ids))
    by_id = {row["id"]: row for row in rows}
    return [by_id[i] for i in ids], (ids[-1] if len(keys) > PAGE_SIZE else None)


async def map_points(limit: int = MAP_LIMIT) -> dict:
    """The newest ``limit`` public tickets with a location, as GeoJSON, rounded to ~100 m."""
    rows = (
        await Complaint.select(
            Complaint.number,
            Complaint.title,
            Complaint.status,
            Complaint.latitude,
            Complaint.longitude,
            Complaint.category.name.as_alias("category_name"),
            Complaint.category.name_en.as_alias("category_name_en"),
        )
        .where(listed() & Complaint.latitude.is_not_null() & Complaint.longitude.is_not_null())
        .order_by(Complaint.id, ascending=False)
        .limit(limit)
    )
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [
                        rounded_coordinate(row["longitude"]),
                        rounded_coordinate(row["latitude"]),
                    ],
                },
                "properties": {
                    "number": row["number"],
                    "title": row["title"],
                    "category": row["category_name"],
                    "category_en": row["category_name_en"],
                    "status": row["status"],
                },
            }
            for row in rows
        ],
    }


async def cache_key(now: datetime) -> str:
    """The state of the public data: the latest ticket change, and the clock in CACHE_SECONDS."""
    rows = await Complaint.raw("SELECT max(updated_at) AS latest FROM complaint")
    latest = rows[0]["latest"] if rows else None
    return str((str(latest), int(now.timestamp()) // CACHE_SECONDS))


class PublicCache:
    """One per process (kept on the app's state): the last figures and the key they belong to.

    ``make`` returns the figures with the key of the state they describe, which may be older than
    the key asked for (the worker has not refreshed the snapshot yet). They are filed under that
    older key, so the next request after ``min_age_seconds`` looks again instead of keeping them.
    """

    def __init__(self, min_age_seconds: float = 0, clock: Callable[[], float] = monotonic) -> None:
        self.key: str | None = None
        self.value: PublicFigures | None = None
        # A nation changes tickets every second; rebuilding on each change would rebuild always.
        self.min_age_seconds = min_age_seconds
        self._clock = clock
        self._made_at = 0.0
        self._lock = asyncio.Lock()

    async def get(
        self, key: str, make: Callable[[], Awaitable[tuple[PublicFigures, str]]]
    ) -> PublicFigures:
        if self.value is not None and self._usable(key):
            return self.value
        if self._lock.locked() and self.value is not None:
            return self.value  # someone is recomputing: the previous copy is a moment old
        async with self._lock:
            if self.value is not None and self._usable(key):
                return self.value
            value, self.key = await make()
            self.value, self._made_at = value, self._clock()
            return value

    def _usable(self, key: str) -> bool:
        """Whether the figures held (if any) may answer for ``key``."""
        return self.key == key or self._clock() - self._made_at < self.min_age_seconds


async def public_figures(
    cache: PublicCache, now: datetime | None = None, *, stale_after_seconds: float = 0
) -> PublicFigures:
    now = (now or datetime.now(UTC)).astimezone(UTC)
    key = await cache_key(now)
    return await cache.get(
        key, lambda: compute(now, key=key, stale_after_seconds=stale_after_seconds)
    )
