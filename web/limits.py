"""Counters that guard limits (code requests, look-ups, staff sign-in tries), shared by every process.

A counter is taken and read in ONE statement (an upsert that returns the new count), so two web
processes can never both see "4 of 5" and both go ahead: the database hands out 5 and then 6.
Callers take first and refuse when the count is over their limit; the work they guard (sending a
code, checking a password) only happens for counts within it. Works on SQLite >= 3.35 and
PostgreSQL alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from db.tables import RateLimit

# The window restarts when a counter is taken after its reset time; until then it only grows.
_TAKE = """
INSERT INTO rate_limit (key, hits, reset_at) VALUES ({}, 1, {})
ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN rate_limit.reset_at <= {} THEN 1 ELSE rate_limit.hits + 1 END,
    reset_at = CASE WHEN rate_limit.reset_at <= {} THEN excluded.reset_at
                    ELSE rate_limit.reset_at END
RETURNING hits, reset_at
"""


@dataclass(frozen=True)
class Taken:
    count: int  # this hit included
    reset_at: datetime

    def over(self, limit: int) -> bool:
        return self.count > limit

    def minutes_left(self, now: datetime | None = None) -> int:
        """Whole minutes until the window ends (at least 1), for "try again in N minutes"."""
        seconds = (self.reset_at - (now or datetime.now(UTC))).total_seconds()
        return max(1, math.ceil(seconds / 60))


def _as_datetime(value: datetime | str) -> datetime:
    # SQLite gives RETURNING columns no declared type, so the converter does not run there.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def take(key: str, *, window_seconds: int, now: datetime | None = None) -> Taken:
    """Count one hit on ``key`` in its current window and return the count, atomically."""
    now = now or datetime.now(UTC)
    rows = await RateLimit.raw(_TAKE, key[:200], now + timedelta(seconds=window_seconds), now, now)
    return Taken(count=rows[0]["hits"], reset_at=_as_datetime(rows[0]["reset_at"]))


async def give_back(key: str) -> None:
    """Undo one hit (the attempt it reserved turned out fine, e.g. a right password)."""
    await RateLimit.raw(
        "UPDATE rate_limit SET hits = hits - 1 WHERE key = {} AND hits > 0", key[:200]
    )


async def clear(key: str) -> None:
    await RateLimit.delete().where(RateLimit.key == key[:200])


async def forget_expired(*, now: datetime) -> int:
    """Delete counters whose window has ended (they would restart at 1 anyway)."""
    gone = await RateLimit.delete().where(RateLimit.reset_at < now).returning(RateLimit.id)
    return len(gone)
