"""The leaders' daily report: once a day, at ``report_time`` city time, for the day before.

Idempotent by design: the stored report for that day is the proof it was made, so a restarted or
second process that gets the lease later finds it and does nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from db.engine import write_transaction
from db.tables import DailyReport
from web.notifications import notify_report_ready
from web.reports.daily import generate_daily_report


def report_due(now: datetime, *, report_time: str, tz: ZoneInfo) -> date | None:
    """The day whose report is due at ``now`` (yesterday, once today's report time has passed)."""
    hour, minute = (int(part) for part in report_time.split(":"))
    local = now.astimezone(tz)
    if local.time() < time(hour, minute):
        return None
    return local.date() - timedelta(days=1)


async def run_daily_report(*, now: datetime, report_time: str, tz: ZoneInfo) -> str:
    day = report_due(now, report_time=report_time, tz=tz)
    if day is None or await DailyReport.exists().where(DailyReport.day == day):
        return ""  # not yet, or already made: nothing to log
    async with write_transaction():
        await generate_daily_report(day, now=now, tz=tz)
        await notify_report_ready(day, now=now)
    return f"{day} made"
