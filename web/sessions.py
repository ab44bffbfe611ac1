"""Server-side sessions kept in the database, so every web process sees the same sign-ins."""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime, timedelta

from litestar.stores.base import Store

from db.tables import HttpSession


def _expiry(expires_in: int | timedelta | None) -> datetime | None:
    if expires_in is None:
        return None
    seconds = expires_in.total_seconds() if isinstance(expires_in, timedelta) else expires_in
    return datetime.now(UTC) + timedelta(seconds=seconds)


RENEW_EVERY_SECONDS = 60


# Sessions this process read or wrote lately, to skip saving one that did not change.
REMEMBERED_SESSIONS = 10_000


class DatabaseSessionStore(Store):
    def __init__(self) -> None:
        self._known: OrderedDict[str, tuple[bytes, datetime | None]] = OrderedDict()

    def _remember(self, key: str, data: bytes, expires_at: datetime | None) -> None:
        self._known[key] = (data, expires_at)
        self._known.move_to_end(key)
        while len(self._known) > REMEMBERED_SESSIONS:
            self._known.popitem(last=False)

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        """Upsert, but leave the row alone when nothing changed and the expiry is fresh.

        Litestar saves the session after every response, changed or not. A session this process
        just read, unchanged, is not sent to the database at all; otherwise the upsert's WHERE
        skips the write (PostgreSQL still locks the row for it, a small write of its own).
        """
        data = value.encode() if isinstance(value, str) else value
        expires_at = _expiry(expires_in)
        renew_before = expires_at - timedelta(seconds=RENEW_EVERY_SECONDS) if expires_at else None
        known = self._known.get(key)
        if (
            known is not None
            and known[0] == data
            and (renew_before is None or (known[1] is not None and known[1] >= renew_before))
        ):
            return
        self._remember(key, data, expires_at)
        await HttpSession.raw(
            "INSERT INTO http_session (key, data, expires_at) VALUES ({}, {}, {}) "
            "ON CONFLICT (key) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at "
            "WHERE http_session.data <> excluded.data OR http_session.expires_at IS NULL "
            "OR http_session.expires_at < {}",
            key,
            data,
            expires_at,
            renew_before,
        )

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        row = (
            await HttpSession.select(HttpSession.data, HttpSession.expires_at)
            .where(HttpSession.key == key)
            .first()
        )
        if row is None:
            self._known.pop(key, None)  # gone (signed out elsewhere): a later save must insert
            return None
        if row["expires_at"] is not None and row["expires_at"] <= datetime.now(UTC):
            await self.delete(key)
            return None
        expires_at = row["expires_at"]
        if renew_for and expires_at is not None:
            expires_at = _expiry(renew_for)
            await HttpSession.update({HttpSession.expires_at: expires_at}).where(
                HttpSession.key == key
            )
        data = bytes(row["data"])
        self._remember(key, data, expires_at)
        return data

    async def delete(self, key: str) -> None:
        self._known.pop(key, None)
        await HttpSession.delete().where(HttpSession.key == key)

    async def delete_all(self) -> None:
        self._known.clear()
        await HttpSession.delete(force=True)

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        row = await HttpSession.select(HttpSession.expires_at).where(HttpSession.key == key).first()
        if row is None or row["expires_at"] is None:
            return None
        return int((row["expires_at"] - datetime.now(UTC)).total_seconds())

    async def delete_expired(self) -> int:
        """Drop sessions past their expiry; the store never does this by itself."""
        expired = (
            await HttpSession.delete()
            .where(HttpSession.expires_at < datetime.now(UTC))
            .returning(HttpSession.id)
        )
        return len(expired)
