"""Small request helpers shared by every area: the one bounded parser for ids, cursors and dates
from URLs and forms, client IP, language, sign-in redirect target."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from urllib.parse import urlsplit

from litestar import Request
from litestar.exceptions import ClientException, NotFoundException

from web.errors import UserError
from web.forms import parse_int
from web.forwarded import client_address
from web.i18n import _
from web.settings import Settings

LANG_COOKIE = "bahasa"
MAX_ROW_ID = 2**31 - 1  # PostgreSQL integer: a larger number in a query is an error, not "none"
# Fixed bounds, not "N years from today": the same address means the same thing on any day.
# Year 1 cannot be moved to UTC and 9999-12-31 has no next day, both were server errors.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2100, 12, 31)


def row_id(raw: str | None) -> int | None:
    """A database id from a form field or query parameter; None for anything else.

    "²" (int() fails) and 20-digit numbers (PostgreSQL fails) were server errors on pages that
    anyone can call with any query string: ``parse_int`` refuses both.
    """
    return parse_int(raw, minimum=0, maximum=MAX_ROW_ID)


def path_id(raw: str) -> int:
    """A database id from the URL path: anything else is "not found", as a missing row would be.

    Routes declare such ids ``str``: Litestar's ``int`` lets 20-digit numbers through to the query.
    """
    value = row_id(raw)
    if value is None:
        raise NotFoundException(_("Halaman tidak ditemukan."))
    return value


# ``CLG-2026-000123`` (complaints.service.next_ticket_number): what a URL may name as a ticket.
_TICKET_NUMBER = re.compile(r"[A-Z0-9]{1,10}-[0-9]{4}-[0-9]{1,10}")


def ticket_number(raw: str | None) -> str | None:
    """A ticket number from a query string, or None for anything else (it is shown on the page)."""
    return raw if raw and _TICKET_NUMBER.fullmatch(raw) else None


class BadParameter(ClientException):
    """A 400 whose detail is a message for the user (the error page shows it)."""


def cursor_id(raw: str | None) -> int | None:
    """A page cursor (the last id of the previous page): None when absent, 400 when not an id."""
    if raw is None or raw == "":
        return None
    value = row_id(raw)
    if value is None:
        raise BadParameter(_("Alamat halaman tidak valid. Buka lagi dari halaman pertama."))
    return value


class BadDate(UserError):
    """``message`` says what is wrong, in the user's language."""


def parse_day(raw: str, *, latest: date | None = None) -> date:
    """A calendar day written ``YYYY-MM-DD``, within EARLIEST_DAY..LATEST_DAY (and not after
    ``latest`` when given, e.g. today for reports); else BadDate."""
    try:
        day = date.fromisoformat(raw.strip()) if raw.strip().isascii() else None
    except ValueError:
        day = None
    if day is None or len(raw.strip()) != 10:
        raise BadDate(_("Tanggal tidak valid. Gunakan format TTTT-BB-HH, misalnya 2026-11-23."))
    if day < EARLIEST_DAY:
        raise BadDate(_("Tanggal terlalu lama; pilih tanggal sejak tahun 2000."))
    if latest is not None and day > latest:
        raise BadDate(_("Tanggal tidak boleh sesudah hari ini."))
    if day > LATEST_DAY:
        raise BadDate(_("Tanggal terlalu jauh; pilih tanggal sampai tahun 2100."))
    return day


def cursor_moment(raw: str) -> datetime | None:
    """A moment the app wrote into a cursor (ISO 8601 with an offset), in UTC; None for anything
    else, including moments outside EARLIEST_DAY..LATEST_DAY (year 1 with an offset overflowed
    when the driver converted it to UTC: a server error)."""
    try:
        moment = datetime.fromisoformat(raw) if raw.isascii() else None
    except ValueError:
        return None
    if moment is None or moment.tzinfo is None:
        return None
    earliest = datetime.combine(EARLIEST_DAY, time(), UTC)
    latest = datetime.combine(LATEST_DAY, time.max, UTC)
    # The date is checked before the conversion: moving year 1 by an offset overflows.
    if not EARLIEST_DAY <= moment.date() <= LATEST_DAY:
        return None
    moment = moment.astimezone(UTC)
    return moment if earliest <= moment <= latest else None


def client_ip(request: Request, settings: Settings) -> str:
    """The address per-IP limits count: see web.forwarded for whom we believe."""
    return client_address(
        request.client.host if request.client else "",
        request.headers.getall("x-forwarded-for", []),
        settings.trusted_proxy_networks,
    )


MAX_NEXT_LENGTH = 2000  # a real path of ours is far shorter; a longer one would sit in the session


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths: a crafted ?next= must not send a citizen to another site."""
    if not target or len(target) > MAX_NEXT_LENGTH:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


# The outbox protocol (README, "The outbox protocol"): every JSON answer to an outbox send names the
# item it answers in this header and in the body's "client_key".
OUTBOX_HEADER = "X-Aduan-Outbox"
OUTBOX_KEY_MAX = 64


def wants_json(request: Request) -> bool:
    """The offline outbox sends with Accept: application/json and reads the answer itself."""
    return "application/json" in request.headers.get("accept", "")


async def refuse_nul_in_url(request: Request) -> None:
    """No address holds a NUL byte: PostgreSQL cannot compare with one (a server error), so refuse
    it before any handler queries with a path or query parameter."""
    if "\x00" in request.scope["path"] or b"%00" in request.scope.get("query_string", b""):
        raise BadParameter(_("Alamat memuat karakter yang tidak diizinkan."))
