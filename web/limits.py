"""Counters that guard limits (code requests, look-ups, staff sign-in tries), shared by every process.

A counter is taken and read in ONE statement (an upsert that returns the new count), so two web
processes can never both see "4 of 5" and both go ahead: the database hands out 5 and then 6.
Callers take first and refuse when the count is over their limit; the work they guard (sending a
code, checking a password) only happens for counts within it. Works on SQLite >= 3.35 and
PostgreSQL alike.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv6Address, IPv6Network, ip_address

from db.engine import write_transaction
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


def ip_bucket(ip: str) -> str:
    """What per-IP limits count: an IPv4 address, or the /64 network of an IPv6 address.

    Any IPv6 host gets a whole /64 (2^64 addresses) from its provider, so counting addresses
    would give every IPv6 client an unlimited budget. IPv4-mapped addresses count as IPv4.
    Anything that is not an address (tests' "testclient") is counted as written.
    """
    try:
        address = ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        # int() drops a scope id (fe80::1%eth0), which ip_network would refuse.
        return str(IPv6Network((int(address) >> 64 << 64, 64)))
    return str(address)


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


# Takes the row's lock (inserting it if new) and reads the last turn handed out: on PostgreSQL a
# second try for the same key waits here until the first one's transaction ends; on SQLite the
# IMMEDIATE transaction already lets one writer in at a time.
_LOCK_TURN = """
INSERT INTO rate_limit (key, hits, reset_at) VALUES ({}, 1, {})
ON CONFLICT (key) DO UPDATE SET hits = rate_limit.hits + 1
RETURNING reset_at
"""


async def take_turn(
    key: str, *, spacing_seconds: float, max_wait_seconds: float, now: datetime | None = None
) -> datetime | None:
    """Reserve the next turn on ``key``: ``spacing_seconds`` after the last turn handed out (or
    after now, when that is past). Returns the turn's time, or None, reserving nothing, when it is
    more than ``max_wait_seconds`` away. Concurrent callers, in any process, get distinct turns.

    The row's ``reset_at`` holds the last turn; once past, the row is stale and cleaned up.
    """
    now = now or datetime.now(UTC)
    async with write_transaction():
        rows = await RateLimit.raw(_LOCK_TURN, key[:200], now)
        last = _as_datetime(rows[0]["reset_at"])
        turn = max(last, now) + timedelta(seconds=spacing_seconds)
        if (turn - now).total_seconds() > max_wait_seconds:
            return None
        await RateLimit.update({RateLimit.reset_at: turn}).where(RateLimit.key == key[:200])
    return turn


# A slot is a row that one holder leases: claimed only when free (new, or its lease has ended) in
# one statement, so concurrent claims in any process get distinct slots. ``hits`` holds the
# holder's random token: a holder whose lease ended cannot renew or free its successor's claim.
_CLAIM_SLOT = """
INSERT INTO rate_limit (key, hits, reset_at) VALUES ({}, {}, {})
ON CONFLICT (key) DO UPDATE SET hits = excluded.hits, reset_at = excluded.reset_at
WHERE rate_limit.reset_at <= {}
RETURNING hits
"""


@dataclass(frozen=True)
class Slot:
    key: str
    token: int


async def take_slot(
    prefix: str, *, slots: int, lease_seconds: float, now: datetime | None = None
) -> Slot | None:
    """Lease one of ``slots`` places named ``prefix:0..slots-1`` until now + ``lease_seconds``,
    or None when all are held. The holder renews it (``renew_slot``) and frees it when done; a
    holder that died frees it by its lease ending."""
    now = now or datetime.now(UTC)
    until = now + timedelta(seconds=lease_seconds)
    for place in range(slots):
        key = f"{prefix}:{place}"[:200]
        token = secrets.randbelow(2**31 - 2) + 1
        if await RateLimit.raw(_CLAIM_SLOT, key, token, until, now):
            return Slot(key=key, token=token)
    return None


async def renew_slot(slot: Slot, *, lease_seconds: float, now: datetime | None = None) -> bool:
    """Extend the lease; False when it had ended and the place went to someone else (or away)."""
    now = now or datetime.now(UTC)
    rows = await RateLimit.raw(
        "UPDATE rate_limit SET reset_at = {} WHERE key = {} AND hits = {} AND reset_at > {} "
        "RETURNING id",
        now + timedelta(seconds=lease_seconds),
        slot.key,
        slot.token,
        now,
    )
    return bool(rows)


async def release_slot(slot: Slot, *, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    await RateLimit.raw(
        "UPDATE rate_limit SET reset_at = {} WHERE key = {} AND hits = {}",
        now,
        slot.key,
        slot.token,
    )
