"""The browsers that agreed to be notified: checking what a browser sends, storing it per person.

A subscription belongs to whoever last registered it on that browser: registering upserts by
endpoint, so a shared phone that someone else signs in on (and turns notifications on) moves to
them and stops telling the previous person. One person keeps at most ``push_max_devices``
browsers: a new one replaces the one registered longest ago (a lost phone must not block the new
one, and nobody can fill the table with endpoints).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import anyio
from cryptography.hazmat.primitives.asymmetric import ec
from piccolo.engine.postgres import PostgresEngine

from db.engine import current_engine, write_transaction
from db.tables import Citizen, PushSubscription, StaffUser
from web import limits
from web.forms import FormErrors
from web.i18n import _
from web.notifications.endpoints import (
    EndpointRefused,
    EndpointUnresolved,
    check_target,
    host_listed,
)
from web.notifications.vapid import b64url_decode

MAX_ENDPOINT = 1000
SUBSCRIBE_WINDOW_SECONDS = 3600
# DNS look-ups run in threads of their own allowance, not the shared one that photo uploads use:
# slow or hanging name servers can then hold up only other subscribes.
_DNS_SLOTS = anyio.CapacityLimiter(4)


@dataclass(frozen=True)
class Owner:
    kind: str  # citizen | staff
    id: int


@dataclass(frozen=True)
class BrowserSubscription:
    endpoint: str
    p256dh: str
    auth: str


def _decoded(value: Any) -> bytes | None:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]+={0,2}", value):
        return None
    try:
        return b64url_decode(value.rstrip("="))
    except ValueError:
        return None


def parse_subscription(
    data: Any, *, allowed: tuple[str, ...] = (), allow_http: bool = False
) -> BrowserSubscription:
    """Check ``PushSubscription.toJSON()`` as the browser sent it; raises FormErrors (Indonesian).

    Push services are HTTPS; plain HTTP only to a host in ``allowed`` (ADUAN_PUSH_ALLOWED_HOSTS)
    outside production, for the tests' stand-in push service. Where the endpoint points is
    checked separately (``check_endpoint``: it needs DNS).
    """
    if not isinstance(data, dict):
        raise FormErrors.single("__all__", _("Data langganan notifikasi tidak terbaca."))
    errors: dict[str, str] = {}
    raw_endpoint = data.get("endpoint")
    endpoint = raw_endpoint if isinstance(raw_endpoint, str) else ""
    parts = urlsplit(endpoint)
    if (
        not parts.hostname
        or len(endpoint) > MAX_ENDPOINT
        or not (
            parts.scheme == "https"
            or (parts.scheme == "http" and allow_http and host_listed(parts.hostname, allowed))
        )
    ):
        errors["endpoint"] = _(
            "Alamat layanan notifikasi tidak sah: harus alamat https dari layanan push browser."
        )
    raw_keys = data.get("keys")
    keys: dict = raw_keys if isinstance(raw_keys, dict) else {}
    p256dh = _decoded(keys.get("p256dh"))
    if p256dh is None or len(p256dh) != 65 or not _is_p256_point(p256dh):
        errors["p256dh"] = _("Kunci enkripsi dari browser tidak sah (p256dh).")
    auth = _decoded(keys.get("auth"))
    if auth is None or len(auth) != 16:
        errors["auth"] = _("Kunci autentikasi dari browser tidak sah (auth).")
    if errors:
        raise FormErrors(errors)
    return BrowserSubscription(
        endpoint=endpoint, p256dh=keys["p256dh"].rstrip("="), auth=keys["auth"].rstrip("=")
    )


def check_endpoint(endpoint: str, allowed: tuple[str, ...]) -> None:
    """Refuse endpoints on loopback, private, link-local... addresses (or off the allow-list);
    raises FormErrors (Indonesian). Blocking (DNS): run it in a worker thread."""
    try:
        check_target(endpoint, allowed)
    except EndpointRefused as exc:
        raise FormErrors.single(
            "endpoint",
            _(
                "Alamat layanan notifikasi ditolak: server hanya mengirim ke layanan push di "
                "internet publik, bukan ke alamat lokal atau jaringan internal."
            ),
        ) from exc
    except EndpointUnresolved as exc:
        raise FormErrors.single(
            "endpoint",
            _("Alamat layanan notifikasi tidak dapat dihubungi saat ini. Coba lagi sebentar lagi."),
        ) from exc


async def check_endpoint_in_thread(endpoint: str, allowed: tuple[str, ...], timeout: float) -> None:
    """check_endpoint off the event loop, at most ``timeout`` seconds (then "try again later";
    the look-up's thread is left to finish on its own)."""
    try:
        with anyio.fail_after(timeout):
            await anyio.to_thread.run_sync(
                check_endpoint, endpoint, allowed, limiter=_DNS_SLOTS, abandon_on_cancel=True
            )
    except TimeoutError as exc:
        raise FormErrors.single(
            "endpoint",
            _("Alamat layanan notifikasi tidak dapat dihubungi saat ini. Coba lagi sebentar lagi."),
        ) from exc


async def count_subscribe(owner: Owner, *, per_hour: int) -> None:
    """Count one "turn notifications on" against the person's hourly allowance (FormErrors beyond):
    each one costs a DNS look-up and a database write."""
    taken = await limits.take(
        f"push-subscribe:{owner.kind}:{owner.id}", window_seconds=SUBSCRIBE_WINDOW_SECONDS
    )
    if taken.over(per_hour):
        raise FormErrors.single(
            "__all__",
            _(
                "Terlalu sering mengaktifkan notifikasi. Coba lagi dalam %(minutes)s menit.",
                minutes=taken.minutes_left(),
            ),
        )


def _is_p256_point(raw: bytes) -> bool:
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        return False
    return True


_BROWSERS = (
    ("Edg", "Edge"),
    ("SamsungBrowser", "Samsung Internet"),
    ("OPR", "Opera"),
    ("Firefox", "Firefox"),
    ("FxiOS", "Firefox"),
    ("CriOS", "Chrome"),
    ("Chrome", "Chrome"),
    ("Chromium", "Chromium"),
    ("Safari", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def device_label(user_agent: str) -> str:
    """A short, recognisable name for the list of devices, e.g. ``Chrome · Android``."""
    browser = next((name for token, name in _BROWSERS if token in user_agent), "")
    system = next((name for token, name in _SYSTEMS if token in user_agent), "")
    return " · ".join(part for part in (browser, system) if part)[:120]


def _owned_by(owner: Owner):
    if owner.kind == "staff":
        return PushSubscription.staff == owner.id
    return PushSubscription.citizen == owner.id


async def _lock_owner(owner: Owner) -> None:
    """Subscribes of one person run one at a time, so two at once cannot both trim to the cap and
    leave one too many (SQLite's IMMEDIATE transaction already admits one writer at a time)."""
    if isinstance(current_engine(), PostgresEngine):
        table = StaffUser if owner.kind == "staff" else Citizen
        await table.select(table.id).where(table.id == owner.id).lock_rows()


async def save_subscription(
    owner: Owner, subscription: BrowserSubscription, *, device: str, now: datetime, keep: int
) -> int:
    """Store the browser's subscription for ``owner``; the same endpoint moves to them if it was
    someone else's. Beyond ``keep`` browsers, the ones registered longest ago are forgotten.
    Returns its id."""
    row = PushSubscription(
        endpoint=subscription.endpoint,
        p256dh=subscription.p256dh,
        auth=subscription.auth,
        citizen=owner.id if owner.kind == "citizen" else None,
        staff=owner.id if owner.kind == "staff" else None,
        device=device,
        created_at=now,
    )
    # On a known endpoint, everything but the endpoint is replaced by what was just sent.
    replaced = [
        PushSubscription.p256dh,
        PushSubscription.auth,
        PushSubscription.citizen,
        PushSubscription.staff,
        PushSubscription.device,
        PushSubscription.created_at,
    ]
    async with write_transaction():
        await _lock_owner(owner)
        rows = await (
            PushSubscription.insert(row)
            .on_conflict(target=PushSubscription.endpoint, action="DO UPDATE", values=replaced)
            .returning(PushSubscription.id)
        )
        kept = (
            PushSubscription.select(PushSubscription.id)
            .where(_owned_by(owner))
            .order_by(PushSubscription.created_at, PushSubscription.id, ascending=False)
            .limit(keep)
        )
        await PushSubscription.delete().where(_owned_by(owner) & PushSubscription.id.not_in(kept))
    return rows[0]["id"]


async def remove_by_endpoint(owner: Owner, endpoint: str) -> bool:
    """The browser turned notifications off: forget it (only if it is this person's)."""
    if "\x00" in endpoint or len(endpoint) > MAX_ENDPOINT:  # never stored, and PostgreSQL
        return False  # cannot compare with a NUL byte
    async with write_transaction():
        removed = (
            await PushSubscription.delete()
            .where((PushSubscription.endpoint == endpoint) & _owned_by(owner))
            .returning(PushSubscription.id)
        )
    return bool(removed)


async def remove_device(owner: Owner, subscription_id: int) -> bool:
    async with write_transaction():
        removed = (
            await PushSubscription.delete()
            .where((PushSubscription.id == subscription_id) & _owned_by(owner))
            .returning(PushSubscription.id)
        )
    return bool(removed)


async def devices_of(owner: Owner, *, this_endpoint: str = "") -> list[dict]:
    """This person's devices, newest first; ``this_device`` marks the browser asking."""
    rows = (
        await PushSubscription.select(
            PushSubscription.id,
            PushSubscription.endpoint,
            PushSubscription.device,
            PushSubscription.created_at,
            PushSubscription.last_sent_at,
        )
        .where(_owned_by(owner))
        .order_by(PushSubscription.id, ascending=False)
    )
    return [
        {
            "id": row["id"],
            "device": row["device"],
            "created_at": row["created_at"],
            "last_sent_at": row["last_sent_at"],
            "this_device": bool(this_endpoint) and row["endpoint"] == this_endpoint,
        }
        for row in rows
    ]


async def forget_this_device_on_sign_out(owner: Owner | None, endpoint: str) -> None:
    """Signing out on a shared phone must stop the next person seeing this one's notifications:
    the page sends this browser's endpoint with the sign-out form (no JS: nothing to forget)."""
    if owner is not None and endpoint:
        await remove_by_endpoint(owner, endpoint)
