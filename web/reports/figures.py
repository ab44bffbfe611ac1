"""The figures of the leaders' report, computed in SQL: a handful of grouped queries per report,
whatever the number of OPDs or tickets (no query per OPD).

Definitions (a period is whole days ``dari``..``sampai`` in city time; ``as_of`` is the end of the
period, or now while the period is still running). Statuses are the tickets' statuses when the
report is computed; a stored daily report keeps them as they were at 07:00.

Per OPD, over the tickets whose *current* OPD is that OPD and whose dispatch time
(``sla_started_at``, the start of the SLA clock) falls in the period:

- **Diterima** (received): all of them.
- **Selesai** (followed up, done): status resolved (waiting for the citizen) or closed.
- **Dalam proses** (in process): status in_progress.
- **Belum ditindaklanjuti** (not yet followed up): status dispatched; the OPD has neither started
  nor replied since the dispatch.
- Tickets returned to the operator, reopened or rejected later count as received and in none of
  the three columns above.
- **Terlambat** (overdue): the OPD's backlog, whatever the dispatch date: every ticket still
  dispatched or in progress with ``sla_due_at`` < ``as_of``. (Counting only the period's own
  dispatches would show 0 in almost every daily report: a 72-hour ticket dispatched yesterday
  cannot be late by midnight, while last week's still-open ones are what the mayor must see.)
- **Kepatuhan SLA** (SLA compliance, %): of the period's dispatches, done tickets with
  ``resolved_at`` <= ``sla_due_at``, divided by (all done + those still open past due). "—" when
  that is 0 (nothing done and nothing overdue yet).
- **Median respons pertama** (hours): median of ``first_response_at`` − ``sla_started_at`` over
  the tickets that have a response after the dispatch (a reply from before a re-dispatch does not
  answer this dispatch).
- **Median penyelesaian** (hours): median of ``resolved_at`` − ``sla_started_at`` over the done
  tickets.
- The **city total** row adds the counts up; its medians are over all the OPDs' tickets.

Ranking by responsiveness: SLA compliance, highest first; then median first response, fastest
first; OPDs without a compliance figure (nothing done or overdue yet) after those with one; OPDs
with no ticket in the period last; ties by name. An OPD is **slow** (highlighted) when it has an
overdue ticket or its compliance is below 80 %.

City-wide, over the tickets *created* in the period (what reached the command centre):
created, still unverified (status received), rejected, duplicates, and the channel mix. Call
Center 112: calls logged in the period, by kind (normal, informative, prank). The 30-day trend:
for each of the 30 days ending on ``sampai``, the tickets created that day and the tickets whose
``resolved_at`` falls on that day (a reopened ticket loses its resolution).

Medians: ``percentile_cont(0.5)`` on PostgreSQL; on SQLite, window functions pick the middle one
or two durations of each OPD (the same definition, also in SQL). Days on SQLite are bucketed with
the city's UTC offset (Indonesian time zones have no daylight saving time).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from piccolo.engine.postgres import PostgresEngine

from db.engine import current_engine
from db.tables import ApiKey, Complaint, Opd
from web.intake.service import CALL_KINDS, call_counts
from web.reports.periods import Period, day_start
from web.vocabulary import CHANNELS
from web.workflow.sla import SlaState, sla_sql
from web.workflow.status import DONE, Status, sql_in

SLOW_BELOW_PERCENT = 80.0
TREND_DAYS = 30

# --- The figures -------------------------------------------------------------------------------


def compliance_percent(done_on_time: int, done: int, overdue: int) -> float | None:
    """SLA compliance: done on time / (done + still open past due); None when both are 0."""
    denominator = done + overdue
    return None if denominator == 0 else 100.0 * done_on_time / denominator


@dataclass
class OpdFigures:
    opd_id: int | None
    name: str
    received: int = 0
    done: int = 0
    in_process: int = 0
    not_followed_up: int = 0
    overdue: int = 0  # backlog: all the OPD's open tickets past due at as_of
    overdue_in_period: int = 0  # the period's dispatches still open past due (for compliance)
    done_on_time: int = 0
    median_first_response_hours: float | None = None
    median_resolution_hours: float | None = None
    rank: int | None = None

    @property
    def compliance(self) -> float | None:
        """SLA compliance in percent, or None when nothing is done or overdue yet."""
        return compliance_percent(self.done_on_time, self.done, self.overdue_in_period)

    @property
    def slow(self) -> bool:
        compliance = self.compliance
        return self.overdue > 0 or (compliance is not None and compliance < SLOW_BELOW_PERCENT)


@dataclass
class CityFigures:
    created: int = 0
    unverified: int = 0
    rejected: int = 0
    duplicates: int = 0


@dataclass
class TrendDay:
    day: date
    created: int = 0
    resolved: int = 0


@dataclass
class Report:
    first_day: date
    last_day: date
    as_of: datetime
    computed_at: datetime
    opds: list[OpdFigures]  # ranked, best first
    total: OpdFigures
    city: CityFigures
    channels: dict[str, int]
    calls: dict[str, int]
    trend: list[TrendDay]
    # SP4N-LAPOR!-linked tickets whose public change is not yet copied into LAPOR! (as of the
    # computation; 0 in reports stored before the figure existed).
    lapor_waiting: int = 0
    # The "api" channel by the client that filed (its key's client name); {} in older reports.
    api_clients: dict[str, int] = field(default_factory=dict)
    generated_at: datetime | None = field(default=None)  # set when read from a DailyReport

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("generated_at")
        return json.dumps(data, default=_json_default, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str, generated_at: datetime | None = None) -> Report:
        data = json.loads(text)
        return cls(
            first_day=date.fromisoformat(data["first_day"]),
            last_day=date.fromisoformat(data["last_day"]),
            as_of=datetime.fromisoformat(data["as_of"]),
            computed_at=datetime.fromisoformat(data["computed_at"]),
            opds=[OpdFigures(**row) for row in data["opds"]],
            total=OpdFigures(**data["total"]),
            city=CityFigures(**data["city"]),
            channels=data["channels"],
            calls=data["calls"],
            trend=[
                TrendDay(date.fromisoformat(d["day"]), d["created"], d["resolved"])
                for d in data["trend"]
            ],
            lapor_waiting=int(data.get("lapor_waiting", 0)),
            api_clients=data.get("api_clients", {}),
            generated_at=generated_at,
        )


def _json_default(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(type(value))


# --- SQL ---------------------------------------------------------------------------------------


def _postgres() -> bool:
    return isinstance(current_engine(), PostgresEngine)


def _counts(overdue: str) -> str:
    """The count columns; ``overdue`` is the SLA condition's SQL (``sla_sql``)."""
    return f"""
    count(*) AS received,
    sum(CASE WHEN status IN {sql_in(DONE)} THEN 1 ELSE 0 END) AS done,
    sum(CASE WHEN status = '{Status.IN_PROGRESS}' THEN 1 ELSE 0 END) AS in_process,
    sum(CASE WHEN status = '{Status.DISPATCHED}' THEN 1 ELSE 0 END) AS not_followed_up,
    sum(CASE WHEN {overdue} THEN 1 ELSE 0 END) AS overdue_in_period,
    sum(CASE WHEN status IN {sql_in(DONE)} AND resolved_at <= sla_due_at THEN 1 ELSE 0 END)
        AS done_on_time"""


_PG_MEDIANS = f""",
    percentile_cont(0.5) WITHIN GROUP (
        ORDER BY EXTRACT(EPOCH FROM first_response_at - sla_started_at)::float8)
        FILTER (WHERE first_response_at >= sla_started_at) / 3600.0
        AS median_first_response_hours,
    percentile_cont(0.5) WITHIN GROUP (
        ORDER BY EXTRACT(EPOCH FROM resolved_at - sla_started_at)::float8)
        FILTER (WHERE status IN {sql_in(DONE)} AND resolved_at >= sla_started_at) / 3600.0
        AS median_resolution_hours"""

_DISPATCHED_IN = "sla_started_at >= {} AND sla_started_at < {} AND opd IS NOT NULL"

# The middle one (odd count) or two (even count) durations per OPD and per metric: the median,
# exactly as percentile_cont(0.5) computes it. The copy with opd NULL is the city-wide median.
_SQLITE_MEDIANS = f"""
WITH durations AS (
    SELECT opd, 'first_response' AS metric,
           (julianday(first_response_at) - julianday(sla_started_at)) * 24.0 AS hours
    FROM complaint
    WHERE {_DISPATCHED_IN} __OPD_FILTER__ AND first_response_at >= sla_started_at
    UNION ALL
    SELECT opd, 'resolution', (julianday(resolved_at) - julianday(sla_started_at)) * 24.0
    FROM complaint
    WHERE {_DISPATCHED_IN} __OPD_FILTER__
      AND status IN {sql_in(DONE)} AND resolved_at >= sla_started_at
), scoped AS (
    SELECT opd, metric, hours FROM durations
    UNION ALL
    SELECT NULL, metric, hours FROM durations
), ranked AS (
    SELECT opd, metric, hours,
           row_number() OVER (PARTITION BY opd, metric ORDER BY hours) AS position,
           count(*) OVER (PARTITION BY opd, metric) AS n
    FROM scoped
)
SELECT opd, metric, avg(hours) AS median FROM ranked
WHERE position IN ((n + 1) / 2, (n + 2) / 2)
GROUP BY opd, metric
"""

_COUNT_FIELDS = (
    "received",
    "done",
    "in_process",
    "not_followed_up",
    "overdue",
    "overdue_in_period",
    "done_on_time",
)


def _figures(row: dict, opd_id: int | None, name: str) -> OpdFigures:
    def hours(key: str) -> float | None:
        value = row.get(key)
        return float(value) if value is not None else None

    return OpdFigures(
        opd_id=opd_id,
        name=name,
        **{key: int(row.get(key) or 0) for key in _COUNT_FIELDS},
        median_first_response_hours=hours("median_first_response_hours"),
        median_resolution_hours=hours("median_resolution_hours"),
    )


async def opd_counts(period: Period, *, opd_id: int | None = None) -> dict[int | None, dict]:
    """Counts and medians per OPD id for tickets dispatched in ``period``; key None: the city.

    One query on PostgreSQL (ROLLUP adds the city row), two on SQLite (counts, then medians),
    plus one for the overdue backlog.
    """
    opd_filter = "AND opd = {}" if opd_id is not None else ""
    scope = [period.start, period.end] + ([opd_id] if opd_id is not None else [])
    overdue, overdue_args = sla_sql(SlaState.OVERDUE, period.as_of)
    if _postgres():
        rows = await Complaint.raw(
            f"SELECT opd, GROUPING(opd) AS is_total, {_counts(overdue)} {_PG_MEDIANS} "
            f"FROM complaint WHERE {_DISPATCHED_IN} {opd_filter} GROUP BY ROLLUP (opd)",
            *overdue_args,
            *scope,
        )
        rolled_up = {(None if row["is_total"] else row["opd"]): dict(row) for row in rows}
        return await _with_backlog(rolled_up, period, opd_id)
    rows = await Complaint.raw(
        f"SELECT opd, {_counts(overdue)} FROM complaint "
        f"WHERE {_DISPATCHED_IN} {opd_filter} GROUP BY opd",
        *overdue_args,
        *scope,
    )
    by_opd: dict[int | None, dict] = {row["opd"]: dict(row) for row in rows}
    total = {name: sum(int(row.get(name) or 0) for row in rows) for name in _COUNT_FIELDS}
    by_opd[None] = total
    medians = await Complaint.raw(
        _SQLITE_MEDIANS.replace("__OPD_FILTER__", opd_filter), *scope, *scope
    )
    for row in medians:
        target = by_opd.get(row["opd"])
        if target is not None:
            target[f"median_{row['metric']}_hours"] = row["median"]
    return await _with_backlog(by_opd, period, opd_id)


async def _with_backlog(
    by_opd: dict[int | None, dict], period: Period, opd_id: int | None
) -> dict[int | None, dict]:
    """Add each OPD's overdue backlog (one grouped query over the active-SLA partial index)."""
    opd_filter = "AND opd = {}" if opd_id is not None else ""
    overdue, overdue_args = sla_sql(SlaState.OVERDUE, period.as_of)
    rows = await Complaint.raw(
        f"SELECT opd, count(*) AS n FROM complaint WHERE {overdue} "
        f"AND opd IS NOT NULL {opd_filter} GROUP BY opd",
        *overdue_args,
        *([opd_id] if opd_id is not None else []),
    )
    for row in by_opd.values():
        row["overdue"] = 0
    for row in rows:
        by_opd.setdefault(row["opd"], {})["overdue"] = int(row["n"])
    by_opd.setdefault(None, {})["overdue"] = sum(int(row["n"]) for row in rows)
    return by_opd


def rank_opds(rows: list[OpdFigures]) -> list[OpdFigures]:
    """Most responsive first (see the module docstring); sets ``rank`` on OPDs with tickets."""

    def key(row: OpdFigures):
        compliance = row.compliance
        first_response = row.median_first_response_hours
        return (
            row.received == 0,
            compliance is None,
            -(compliance or 0.0),
            first_response is None,
            first_response or 0.0,
            row.name.lower(),
        )

    ranked = sorted(rows, key=key)
    for position, row in enumerate(ranked, start=1):
        row.rank = position if row.received else None
    return ranked


async def _opd_names() -> list[dict]:
    return await Opd.select(Opd.id, Opd.short_name, Opd.active).order_by(Opd.short_name)


async def opd_choices() -> list[dict]:
    """Every OPD (id, short and full name), for choosing one OPD's page."""
    return await Opd.select(Opd.id, Opd.short_name, Opd.name).order_by(Opd.short_name)


async def lapor_waiting_count() -> int:
    from web.lapor.service import waiting_count  # web.lapor imports the filing code; keep it late

    return await waiting_count()


async def city_figures(
    period: Period,
) -> tuple[CityFigures, dict[str, int], dict[str, int]]:
    """Tickets created in the period: totals, the channel mix (one grouped query) and the API
    tickets by client (the keys' names: one more query, only when the period has API tickets)."""
    rows = await Complaint.raw(
        "SELECT channel, api_key, count(*) AS created, "
        f"sum(CASE WHEN status = '{Status.RECEIVED}' THEN 1 ELSE 0 END) AS unverified, "
        f"sum(CASE WHEN status = '{Status.REJECTED}' THEN 1 ELSE 0 END) AS rejected, "
        f"sum(CASE WHEN status = '{Status.DUPLICATE}' THEN 1 ELSE 0 END) AS duplicates "
        "FROM complaint WHERE created_at >= {} AND created_at < {} GROUP BY channel, api_key",
        period.start,
        period.end,
    )
    city = CityFigures()
    channels = dict.fromkeys(CHANNELS, 0)
    by_key: dict[int, int] = {}
    for row in rows:
        channels[row["channel"]] = channels.get(row["channel"], 0) + int(row["created"])
        if row["channel"] == "api" and row["api_key"] is not None:
            by_key[row["api_key"]] = int(row["created"])
        for name in ("created", "unverified", "rejected", "duplicates"):
            setattr(city, name, getattr(city, name) + int(row[name] or 0))
    api_clients: dict[str, int] = {}
    if by_key:
        keys = await ApiKey.select(ApiKey.id, ApiKey.client_name).where(
            ApiKey.id.is_in(sorted(by_key))
        )
        for key in keys:  # two keys of one client count together
            name = key["client_name"]
            api_clients[name] = api_clients.get(name, 0) + by_key[key["id"]]
    return city, channels, dict(sorted(api_clients.items()))


async def trend(last_day: date, tz: ZoneInfo, days: int = TREND_DAYS) -> list[TrendDay]:
    """Tickets created and resolved on each of the ``days`` days ending on ``last_day``."""
    first_day = last_day - timedelta(days=days - 1)
    start, end = day_start(first_day, tz), day_start(last_day + timedelta(days=1), tz)
    if _postgres():
        local_day = "(({column} AT TIME ZONE {{}})::date)"
        bucket = [tz.key]
    else:
        local_day = "date({column}, {{}})"
        offset = tz.utcoffset(datetime.combine(last_day, time(12))) or timedelta(0)
        bucket = [f"{int(offset.total_seconds()):+d} seconds"]
    created, resolved = (
        local_day.format(column="created_at"),
        local_day.format(column="resolved_at"),
    )
    rows = await Complaint.raw(
        f"SELECT 'created' AS series, {created} AS day, count(*) AS n FROM complaint "
        "WHERE created_at >= {} AND created_at < {} GROUP BY 2 "
        f"UNION ALL SELECT 'resolved', {resolved}, count(*) FROM complaint "
        "WHERE resolved_at >= {} AND resolved_at < {} GROUP BY 2",
        *bucket,
        start,
        end,
        *bucket,
        start,
        end,
    )
    by_day = {
        first_day + timedelta(days=i): TrendDay(first_day + timedelta(days=i)) for i in range(days)
    }
    for row in rows:
        day = row["day"] if isinstance(row["day"], date) else date.fromisoformat(row["day"])
        if day in by_day:
            setattr(by_day[day], row["series"], int(row["n"]))
    return list(by_day.values())


async def leaders_report(period: Period, *, tz: ZoneInfo, now: datetime | None = None) -> Report:
    """Every figure of the leaders' report for ``period`` (a constant number of queries)."""
    names = await _opd_names()
    counts = await opd_counts(period)
    rows = [
        _figures(counts.get(opd["id"], {}), opd["id"], opd["short_name"])
        for opd in names
        if opd["active"] or opd["id"] in counts
    ]
    city, channels, api_clients = await city_figures(period)
    calls = await call_counts(period.start, period.end)
    return Report(
        first_day=period.first_day,
        last_day=period.last_day,
        as_of=period.as_of,
        computed_at=(now or datetime.now(UTC)).astimezone(UTC),
        opds=rank_opds(rows),
        total=_figures(counts.get(None, {}), None, ""),
        city=city,
        channels=channels,
        calls={kind: calls.get(kind, 0) for kind in CALL_KINDS},
        trend=await trend(period.last_day, tz),
        lapor_waiting=await lapor_waiting_count(),
        api_clients=api_clients,
    )


async def one_opd(period: Period, opd_id: int, name: str) -> OpdFigures:
    counts = await opd_counts(period, opd_id=opd_id)
    return _figures(counts.get(opd_id, {}), opd_id, name)
