"""Report periods: whole days in city time, read from ``?tanggal=`` or ``?dari=&sampai=`` (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from web.http import BadDate, parse_day
from web.i18n import _

MAX_RANGE_DAYS = 366


@dataclass(frozen=True)
class Period:
    """Days ``first_day``..``last_day`` inclusive, in city time; instants are UTC."""

    first_day: date
    last_day: date
    start: datetime  # first_day 00:00 city time
    end: datetime  # the day after last_day, 00:00 city time (exclusive)
    as_of: datetime  # min(now, end): the moment "overdue" is judged at

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def single_day(self) -> bool:
        return self.first_day == self.last_day


def day_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tz).astimezone(UTC)


def make_period(first_day: date, last_day: date, *, now: datetime, tz: ZoneInfo) -> Period:
    start = day_start(first_day, tz)
    end = day_start(last_day + timedelta(days=1), tz)
    return Period(first_day, last_day, start, end, min(now.astimezone(UTC), end))


def today(now: datetime, tz: ZoneInfo) -> date:
    return now.astimezone(tz).date()


class PeriodError(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def _parse_day(raw: str, name: str, latest: date) -> date:
    try:
        return parse_day(raw, latest=latest)
    except BadDate as exc:
        raise PeriodError({name: exc.message}) from None


def parse_period(
    params: dict[str, str], *, now: datetime, tz: ZoneInfo, default_days: int = 1
) -> Period:
    """A period from ``tanggal`` (one day) or ``dari``/``sampai`` (a range; one of them alone
    means that single day). Without any, the ``default_days`` days ending yesterday (1: yesterday).

    Raises PeriodError with Indonesian messages keyed by field name.
    """
    latest = today(now, tz)
    day_raw = (params.get("tanggal") or "").strip()
    from_raw = (params.get("dari") or "").strip()
    to_raw = (params.get("sampai") or "").strip()
    if from_raw or to_raw:
        first = _parse_day(from_raw or to_raw, "dari" if from_raw else "sampai", latest)
        last = _parse_day(to_raw or from_raw, "sampai" if to_raw else "dari", latest)
        if first > last:
            raise PeriodError({"dari": _('Tanggal "dari" tidak boleh sesudah tanggal "sampai".')})
        if (last - first).days + 1 > MAX_RANGE_DAYS:
            raise PeriodError(
                {"sampai": _("Rentang paling panjang %(days)s hari.", days=MAX_RANGE_DAYS)}
            )
    elif day_raw:
        first = last = _parse_day(day_raw, "tanggal", latest)
    else:
        last = latest - timedelta(days=1)
        first = last - timedelta(days=default_days - 1)
    return make_period(first, last, now=now, tz=tz)


def period_query(period: Period) -> dict[str, str]:
    """Query parameters that name ``period`` again (export links, the OPD page links)."""
    if period.single_day:
        return {"tanggal": period.first_day.isoformat()}
    return {"dari": period.first_day.isoformat(), "sampai": period.last_day.isoformat()}
