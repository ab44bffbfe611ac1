"""The daily report for leaders: computed for one day, frozen as JSON in ``daily_report``.

The scheduled job (``ADUAN_REPORT_TIME``) calls ``generate_daily_report`` for yesterday inside the
transaction in which it also queues the supervisors' notifications; the page shows the stored
figures for that day, with the time they were made.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from db.tables import DailyReport
from web.reports.figures import Report, leaders_report
from web.reports.periods import Period, make_period


async def generate_daily_report(day: date, *, now: datetime, tz: ZoneInfo) -> int:
    """Compute ``day``'s figures (days of the city's ``tz``) as of ``now`` and store them (insert or
    replace); returns the row id.

    Opens no transaction of its own: run it inside the caller's, or alone (one upsert statement).
    """
    report = await leaders_report(make_period(day, day, now=now, tz=tz), tz=tz, now=now)
    rows = (
        await DailyReport.insert(DailyReport(day=day, figures=report.to_json(), generated_at=now))
        .on_conflict(
            target=DailyReport.day,
            action="DO UPDATE",
            values=[DailyReport.figures, DailyReport.generated_at],
        )
        .returning(DailyReport.id)
    )
    return rows[0]["id"]


async def stored_report(day: date) -> Report | None:
    """The report stored for ``day``, or None when it was never generated."""
    row = (
        await DailyReport.select(DailyReport.figures, DailyReport.generated_at)
        .where(DailyReport.day == day)
        .first()
    )
    if row is None:
        return None
    return Report.from_json(row["figures"], generated_at=row["generated_at"])


async def report_for_period(
    period: Period, *, tz: ZoneInfo, now: datetime, live: bool = False
) -> Report:
    """The stored report when ``period`` is one day that has one (unless ``live``), else live."""
    if period.single_day and not live:
        stored = await stored_report(period.first_day)
        if stored is not None:
            return stored
    return await leaders_report(period, tz=tz, now=now)
