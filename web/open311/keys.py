"""API keys: what another system files or reads with. Admins create and revoke them (audited);
only the sha256 of a key is stored, the key itself is shown once when it is made.

Each key has its own per-minute limit, counted in the database (``web.limits.take``) so every
web process shares it; ``last_used_at`` is written at most once a minute per key, in one
conditional UPDATE, so busy clients do not turn every request into a write.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from litestar import Request

from db.engine import write_transaction
from db.tables import ApiKey
from web import audit, limits
from web.forms import FormErrors, parse_int, text_errors
from web.i18n import _, per_locale
from web.vocabulary import PRIVACY_LEVELS, PUBLIC

READ, FILE = "read", "file"
SCOPES = (READ, FILE)
MAX_RATE_PER_MINUTE = 10_000
DEFAULT_RATE_PER_MINUTE = 60
USE_RECORD_SECONDS = 60  # last_used_at (and its audit row) at most this often per key


@per_locale
def scope_label(scope: str) -> str:
    return {READ: _("Baca saja"), FILE: _("Baca dan kirim laporan")}.get(scope, scope)


@dataclass(frozen=True)
class Key:
    id: int
    name: str
    scopes: tuple[str, ...]
    default_privacy: str
    client_name: str
    rate_per_minute: int


class KeyRefused(Exception):
    """The request may not go on: ``status`` (403 or 429) and a message for the client."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


RATE_WINDOW_SECONDS = 60  # a key's limit is per minute


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_key(values: dict[str, str], *, admin_id: int) -> tuple[int, str]:
    """Make a key from the admin form; returns (id, the key itself, to be shown once)."""
    name = " ".join(values.get("name", "").split())
    client_name = " ".join(values.get("client_name", "").split())
    errors = text_errors({"name": name, "client_name": client_name})
    if not 2 <= len(name) <= 80:
        errors["name"] = _("Tulis nama kunci (2-80 huruf), misalnya nama sistem pemakainya.")
    if len(client_name) > 80:
        errors["client_name"] = _("Nama aplikasi paling banyak 80 huruf.")
    scope = values.get("scope", "")
    if scope not in SCOPES:
        errors["scope"] = _("Pilih hak akses kunci.")
    privacy = values.get("default_privacy", "") or PUBLIC
    if privacy not in PRIVACY_LEVELS:
        errors["default_privacy"] = _("Pilih tingkat kerahasiaan laporan dari kunci ini.")
    rate = parse_int(
        values.get("rate_per_minute", "") or str(DEFAULT_RATE_PER_MINUTE),
        minimum=1,
        maximum=MAX_RATE_PER_MINUTE,
    )
    if rate is None:
        errors["rate_per_minute"] = _(
            "Batas permintaan per menit harus angka 1 sampai %(n)s.", n=MAX_RATE_PER_MINUTE
        )
    if errors:
        raise FormErrors(errors)
    assert rate is not None
    token = secrets.token_urlsafe(32)
    scopes = "read file" if scope == FILE else "read"
    now = datetime.now(UTC)
    async with write_transaction():
        rows = await ApiKey.insert(
            ApiKey(
                name=name,
                key_hash=hash_key(token),
                scopes=scopes,
                default_privacy=privacy,
                client_name=client_name or name,
                rate_per_minute=rate,
                created_by=admin_id,
                created_at=now,
            )
        ).returning(ApiKey.id)
        key_id = rows[0]["id"]
        await audit.record(
            "api_key.created",
            actor_kind="staff",
            actor_id=admin_id,
            subject=f"api_key:{key_id}",
            name=name,
            scopes=scopes,
            default_privacy=privacy,
            rate_per_minute=rate,
        )
    return key_id, token


async def revoke_key(key_id: int, *, admin_id: int) -> bool:
    """Revoke once; False when there is no such key or it was revoked already."""
    now = datetime.now(UTC)
    async with write_transaction():
        rows = (
            await ApiKey.update({ApiKey.revoked_at: now})
            .where((ApiKey.id == key_id) & ApiKey.revoked_at.is_null())
            .returning(ApiKey.name)
        )
        if not rows:
            return False
        await audit.record(
            "api_key.revoked",
            actor_kind="staff",
            actor_id=admin_id,
            subject=f"api_key:{key_id}",
            name=rows[0]["name"],
        )
    return True


async def list_keys() -> list[dict]:
    return await ApiKey.select(
        ApiKey.id,
        ApiKey.name,
        ApiKey.scopes,
        ApiKey.default_privacy,
        ApiKey.client_name,
        ApiKey.rate_per_minute,
        ApiKey.created_at,
        ApiKey.revoked_at,
        ApiKey.last_used_at,
        ApiKey.created_by.name.as_alias("created_by_name"),
    ).order_by(ApiKey.id, ascending=False)


async def authenticate_key(token: str, scope: str, *, ip: str = "") -> Key:
    """The live key for ``token`` allowed ``scope``, with one hit taken on its limit; else
    KeyRefused (403 for a missing, unknown, revoked or too narrow key; 429 over its limit)."""
    token = token.strip()
    row = None
    if token and len(token) <= 200:
        row = await ApiKey.select().where(ApiKey.key_hash == hash_key(token)).first()
    if row is None or row["revoked_at"] is not None:
        raise KeyRefused(403, _("Kunci API tidak dikenal atau sudah dicabut."))
    scopes = tuple(row["scopes"].split())
    if scope not in scopes:
        raise KeyRefused(403, _("Kunci API ini tidak boleh mengirim laporan."))
    now = datetime.now(UTC)
    taken = await limits.take(f"api-key:{row['id']}", window_seconds=RATE_WINDOW_SECONDS, now=now)
    if taken.over(row["rate_per_minute"]):
        # At most the window: another process may have opened it a moment after our ``now``.
        retry = min(RATE_WINDOW_SECONDS, max(1, math.ceil((taken.reset_at - now).total_seconds())))
        raise KeyRefused(
            429,
            _("Terlalu banyak permintaan dengan kunci ini. Coba lagi dalam %(n)s detik.", n=retry),
            retry_after=retry,
        )
    await _note_use(row["id"], row["name"], now, ip)
    return Key(
        id=row["id"],
        name=row["name"],
        scopes=scopes,
        default_privacy=row["default_privacy"],
        client_name=row["client_name"],
        rate_per_minute=row["rate_per_minute"],
    )


async def authenticate_request(request: Request, scope: str) -> Key:
    """``authenticate_key`` for a GET route: the key comes as the ``api_key`` query parameter
    (how Open311 clients, FixMyStreet included, send it)."""
    from web.deps import services
    from web.http import client_ip

    return await authenticate_key(
        request.query_params.get("api_key") or "",
        scope,
        ip=client_ip(request, services(request).settings),
    )


async def _note_use(key_id: int, name: str, now: datetime, ip: str) -> None:
    # One statement decides which request of the minute records the use: of parallel requests,
    # in any process, only one finds last_used_at old enough.
    async with write_transaction():
        noted = (
            await ApiKey.update({ApiKey.last_used_at: now})
            .where(
                (ApiKey.id == key_id)
                & (
                    ApiKey.last_used_at.is_null()
                    | (ApiKey.last_used_at < now - timedelta(seconds=USE_RECORD_SECONDS))
                )
            )
            .returning(ApiKey.id)
        )
        if noted:
            await audit.record(
                "api_key.used", actor_kind="api_key", actor_id=key_id, ip=ip, name=name
            )
