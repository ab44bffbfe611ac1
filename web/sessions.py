"""Server-side sessions kept in the database, so every web process sees the same sign-ins.

Our own middleware rather than Litestar's server-side sessions, which adopt whatever id a client
sends, keep it across sign-in (session fixation) and write a row for every cookieless request.
The rules:

- ids are made only here, at random; an unknown or expired id gets an empty anonymous session
  and is never adopted;
- a row exists only while the session holds something, and it is created under a fresh id;
- sign-in (``rotate``) and sign-out (``end``) delete the old row; sign-in inserts a new one;
- saving is an UPDATE of the row this request loaded, never an upsert: a session deleted while a
  request was in flight (sign-out in another tab, an admin's password reset) stays deleted, and
  that request's response clears the cookie;
- no per-process cache: each request reads its row once, and that read decides whether to write.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware.base import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from db.tables import HttpSession

COOKIE = "session"  # over https: __Host-session (see cookie_name)
CSRF_COOKIE = "csrftoken"  # over https: __Host-csrftoken
CITIZEN_KEY = "citizen_id"  # set by citizen sign-in; also stored in the row's citizen_id column
STAFF_KEY = "staff_id"  # set by staff sign-in; also stored in the row's staff_id column
_STATE = "aduan.session"  # this request's loaded row, kept in the ASGI scope
_ID = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32): anything else was never issued

# An unchanged session's expiry is pushed back at most once a minute, not on every request.
RENEW_EVERY_SECONDS = 60
# A session without a signed-in account (a sign-up or sign-in waiting for its code) lasts an hour.
UNSIGNED_SECONDS = 3600


def cookie_name(name: str, secure: bool) -> str:
    """Over https the credential cookies are ``__Host-`` cookies: the browser accepts them only
    with Secure, Path=/ and no Domain, so a sibling subdomain (anything else under *.go.id)
    cannot plant a session id or a CSRF token. Over plain http browsers refuse the prefix."""
    return f"__Host-{name}" if secure else name


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


@dataclass
class _Loaded:
    key: str | None  # the row this request loaded; None: anonymous (no cookie, unknown, expired)
    data: bytes
    expires_at: datetime | None
    rotate: bool = False
    ended: bool = False


def _encode(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def _owner_id(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    return value if isinstance(value, int) else None


def rotate(connection: ASGIConnection, data: dict[str, Any]) -> None:
    """Sign-in: this browser's session becomes ``data`` under a new random id; the old row is
    deleted, so an id planted before sign-in (or read by someone else) is worth nothing after."""
    connection.scope["session"] = dict(data)
    connection.scope[_STATE].rotate = True  # type: ignore[literal-required]


def end(connection: ASGIConnection) -> None:
    """Sign-out: the session's row is deleted and the response clears the cookie."""
    connection.scope["session"] = {}
    connection.scope[_STATE].ended = True  # type: ignore[literal-required]


async def end_sessions_of(*, citizen_id: int | None = None, staff_id: int | None = None) -> None:
    """Sign an account out everywhere (deactivation, password reset, new role or OPD)."""
    if citizen_id is not None:
        await HttpSession.delete().where(HttpSession.citizen_id == citizen_id)
    if staff_id is not None:
        await HttpSession.delete().where(HttpSession.staff_id == staff_id)


async def delete_expired(now: datetime) -> int:
    """Drop sessions past their expiry (the purge job); an expired row is never read anyway."""
    expired = (
        await HttpSession.delete().where(HttpSession.expires_at < now).returning(HttpSession.id)
    )
    return len(expired)


async def reload(connection: ASGIConnection) -> dict[str, Any] | None:
    """The session this request came with, as stored now (None: ended or expired since).
    For responses that outlive their request (the live inbox stream)."""
    key = connection.scope[_STATE].key  # type: ignore[literal-required]
    if key is None:
        return None
    row = await _load(key)
    return json.loads(row.data) if row.key is not None and row.data else None


async def _load(cookie: str | None) -> _Loaded:
    if cookie and _ID.fullmatch(cookie):
        row = (
            await HttpSession.select(HttpSession.data, HttpSession.expires_at)
            .where(HttpSession.key == cookie)
            .first()
        )
        if row is not None and (row["expires_at"] is None or row["expires_at"] > datetime.now(UTC)):
            return _Loaded(cookie, bytes(row["data"]), row["expires_at"])
    return _Loaded(None, b"", None)


async def read_session(cookie: str | None) -> dict[str, Any]:
    """The session this cookie names, read only (empty when unknown or expired): for error pages
    of URLs no route matches, which the middleware below never sees."""
    loaded = await _load(cookie)
    return json.loads(loaded.data) if loaded.data else {}


class SessionMiddleware(ASGIMiddleware):
    """Puts the session dict in ``scope["session"]`` (``request.session``) and saves it after."""

    scopes = (ScopeType.HTTP,)
    exclude_opt_key = "skip_session"

    def __init__(self, *, max_age: int, secure: bool) -> None:
        self.max_age = max_age
        self.secure = secure
        # Only this name is read: over https a plain "session" cookie may have been planted.
        self.cookie_name = cookie_name(COOKIE, secure)

    def _cookie(self, value: str, max_age: int) -> str:
        return Cookie(
            key=self.cookie_name,
            value=value,
            max_age=max_age,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="lax",
        ).to_header(header="")

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        loaded = await _load(ASGIConnection(scope).cookies.get(self.cookie_name))
        scope[_STATE] = loaded  # type: ignore[literal-required]
        scope["session"] = json.loads(loaded.data) if loaded.data else {}

        async def send_with_session(message: Message) -> None:
            if message["type"] == "http.response.start":
                header = await self._save(loaded, scope.get("session"))
                if header:
                    MutableScopeHeaders.from_message(message).add("Set-Cookie", header)
            await send(message)

        await next_app(scope, receive, send_with_session)

    async def _save(self, loaded: _Loaded, session: Any) -> str | None:
        """Write what changed; returns the Set-Cookie header to send, if any."""
        data = session if isinstance(session, dict) else {}  # clear_session() leaves Empty
        if loaded.key is not None and (loaded.rotate or not data):
            await HttpSession.delete().where(HttpSession.key == loaded.key)
        if not data:
            # Only a sign-out clears the cookie. A request that merely carried a dead id (one that
            # was in flight while this browser signed in again) must not wipe the new cookie; the
            # dead id itself is never adopted.
            return self._cookie("", 0) if loaded.ended else None
        blob = _encode(data)
        now = datetime.now(UTC)
        citizen_id, staff_id = _owner_id(data, CITIZEN_KEY), _owner_id(data, STAFF_KEY)
        # A session nobody signed in to holds a sign-up on its way (name, number, NIK hash):
        # personal data kept no longer than finishing the sign-up needs.
        lifetime = self.max_age if citizen_id or staff_id else min(self.max_age, UNSIGNED_SECONDS)
        expires_at = now + timedelta(seconds=lifetime)
        if loaded.key is None or loaded.rotate:
            key = new_session_id()
            await HttpSession.insert(
                HttpSession(
                    key=key,
                    data=blob,
                    expires_at=expires_at,
                    citizen_id=citizen_id,
                    staff_id=staff_id,
                )
            )
            return self._cookie(key, lifetime)
        renew_before = expires_at - timedelta(seconds=RENEW_EVERY_SECONDS)
        if blob == loaded.data and (loaded.expires_at is None or loaded.expires_at >= renew_before):
            return None
        updated = (
            await HttpSession.update(
                {
                    HttpSession.data: blob,
                    HttpSession.expires_at: expires_at,
                    HttpSession.citizen_id: citizen_id,
                    HttpSession.staff_id: staff_id,
                }
            )
            .where(HttpSession.key == loaded.key)
            .returning(HttpSession.id)
        )
        if not updated:  # ended elsewhere while this request ran: it stays ended, cookie untouched
            return None
        return self._cookie(loaded.key, lifetime)
