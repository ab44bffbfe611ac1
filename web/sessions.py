"""Server-side sessions kept in the database, so every web process sees the same sign-ins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar.stores.base import Store

from db.tables import HttpSession


def _expiry(expires_in: int | timedelta | None) -> datetime | None:
    if expires_in is None:
        return None
    seconds = expires_in.total_seconds() if isinstance(expires_in, timedelta) else expires_in
    return datetime.now(UTC) + timedelta(seconds=seconds)


RENEW_EVERY_SECONDS = 60


class DatabaseSessionStore(Store):
    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        """Upsert, but leave the row alone when nothing changed and the expiry is fresh.

        Litestar saves the session after every response, changed or not; without this, every
        page view of a signed-in user would be a database write.
        """
        data = value.encode() if isinstance(value, str) else value
        expires_at = _expiry(expires_in)
        renew_before = expires_at - timedelta(seconds=RENEW_EVERY_SECONDS) if expires_at else None
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
            return None
        if row["expires_at"] is not None and row["expires_at"] <= datetime.now(UTC):
            await self.delete(key)
            return None
        if renew_for and row["expires_at"] is not None:
            await HttpSession.update({HttpSession.expires_at: _expiry(renew_for)}).where(
                HttpSession.key == key
            )
        return bytes(row["data"])

    async def delete(self, key: str) -> None:
        await HttpSession.delete().where(HttpSession.key == key)

    async def delete_all(self) -> None:
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
