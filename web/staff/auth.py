"""Staff passwords (Argon2id) and sign-in with per-username and per-IP limits."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from db.engine import write_transaction
from db.tables import StaffUser
from web import audit, limits
from web.forms import FormErrors
from web.i18n import _
from web.settings import Settings

_hasher = PasswordHasher()  # argon2-cffi's defaults are Argon2id (RFC 9106 low-memory profile)
# Verifying against this when the username is unknown keeps both answers equally slow.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
# A check takes ~0.1-0.4 s of CPU and 64 MiB: run it off the event loop (so one staff sign-in does not
# stall every other request of the process), two at a time at most.
_VERIFY_SLOTS = anyio.CapacityLimiter(2)


def _password_matches(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


ATTACK_ACTION = "staff.sign_in_attack"
# Called once per window for a username under attack (web/sign_in/alerts.py: audit row, admins'
# devices ring); passed in, so that staff/ does not reach up into notifications/.
AttackAlert = Callable[..., Awaitable[None]]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def attack_delay(tries: int, settings: Settings) -> float:
    """Seconds a try waits when its username has had ``tries`` tries from all addresses.

    Doubles past ``staff_login_slow_after``, up to a cap: guessing from many addresses slows
    down, while the owner, wherever they are, still gets in (at worst a few seconds later).
    """
    beyond = tries - settings.staff_login_slow_after
    if beyond <= 0:
        return 0.0
    return float(min(settings.staff_login_max_delay_seconds, 2 ** (beyond - 1)))


async def authenticate(
    *, username: str, password: str, ip: str, settings: Settings, warn_admins: AttackAlert
) -> int:
    """The staff id for a correct username and password; FormErrors otherwise (same message for both).

    Limits (why: a lock per username alone lets anyone lock the mayor out from anywhere): tries
    per username from one IP (an IPv6 /64, see limits.ip_bucket), and per IP for all usernames,
    are refused beyond their limit; tries per username from all IPs are slowed down and queued
    one after another (see _wait_for_turn), and admins are warned. Each try takes its place in
    the counters BEFORE the password is checked, so concurrent tries cannot overshoot; a right
    password gives its places back.
    """
    username = username.strip().lower()
    window = settings.staff_login_window_seconds
    network = limits.ip_bucket(ip)
    ip_key, pair_key, user_key = (
        f"staff-ip:{network}",
        f"staff-pair:{username}|{network}",
        f"staff-user:{username}",
    )
    for key, limit in (
        (ip_key, settings.staff_login_max_failures * 3),
        (pair_key, settings.staff_login_max_failures),
    ):
        taken = await limits.take(key, window_seconds=window)
        if taken.over(limit):
            raise FormErrors.single(
                "__all__",
                _(
                    "Terlalu banyak percobaan masuk. Coba lagi dalam %(minutes)s menit.",
                    minutes=taken.minutes_left(),
                ),
            )
    tries = (await limits.take(user_key, window_seconds=window)).count
    if tries == settings.staff_login_slow_after + 1:
        await warn_admins(username=username, ip=ip, tries=tries - 1)
    if delay := attack_delay(tries, settings):
        await _wait_for_turn(username, delay, settings)
    row = (
        await StaffUser.select(StaffUser.id, StaffUser.password_hash)
        .where((StaffUser.username == username) & (StaffUser.active == True))
        .first()
    )
    matches = await anyio.to_thread.run_sync(
        _password_matches,
        row["password_hash"] if row else _DUMMY_HASH,
        password,
        limiter=_VERIFY_SLOTS,
    )
    account = row if matches else None  # a wrong name and a wrong password: one answer
    async with write_transaction():
        if account is None:
            await audit.record(
                "staff.sign_in_failed", actor_kind="staff", subject=f"staff:{username}", ip=ip
            )
        else:
            await audit.record(
                "staff.signed_in",
                actor_kind="staff",
                actor_id=account["id"],
                subject=f"staff:{username}",
                ip=ip,
            )
            if _hasher.check_needs_rehash(account["password_hash"]):
                await StaffUser.update({StaffUser.password_hash: hash_password(password)}).where(
                    StaffUser.id == account["id"]
                )
    if account is None:
        raise FormErrors.single("__all__", _("Nama pengguna atau kata sandi salah."))
    await limits.clear(pair_key)
    await limits.give_back(ip_key)
    await limits.give_back(user_key)
    return account["id"]


async def _wait_for_turn(username: str, delay: float, settings: Settings) -> None:
    """Tries for a username under attack run one at a time, ``delay`` seconds apart, across all
    processes: parallel tries from many addresses would otherwise sleep side by side and all be
    checked at full speed. A try whose turn is further off than staff_login_max_wait_seconds is
    refused unchecked; the queue never grows beyond that, so the owner waits, at worst, that long.
    """
    turn = await limits.take_turn(
        f"staff-turn:{username}",
        spacing_seconds=delay,
        max_wait_seconds=settings.staff_login_max_wait_seconds,
    )
    if turn is None:
        raise FormErrors.single(
            "__all__",
            _(
                "Terlalu banyak percobaan masuk. Coba lagi dalam %(minutes)s menit.",
                minutes=max(1, -(-settings.staff_login_max_wait_seconds // 60)),
            ),
        )
    await asyncio.sleep(max(0.0, (turn - datetime.now(UTC)).total_seconds()))
