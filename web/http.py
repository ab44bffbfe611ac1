"""Small request helpers shared by every area: client IP, language, sign-in redirect target."""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar import Request

from web.forwarded import client_address
from web.settings import Settings

LANG_COOKIE = "bahasa"
MAX_ROW_ID = 2**31 - 1  # PostgreSQL integer: a larger number in a query is an error, not "none"


def row_id(raw: str | None) -> int | None:
    """A database id from a form field or query parameter; None for anything else.

    ``str.isdigit`` alone lets through "²" (int() fails) and 20-digit numbers (PostgreSQL fails):
    both were server errors on pages that anyone can call with any query string.
    """
    if not raw or not raw.isascii() or not raw.isdigit():
        return None
    value = int(raw)
    return value if value <= MAX_ROW_ID else None


def client_ip(request: Request, settings: Settings) -> str:
    """The address per-IP limits count: see web.forwarded for whom we believe."""
    return client_address(
        request.client.host if request.client else "",
        request.headers.getall("x-forwarded-for", []),
        settings.trusted_proxy_networks,
    )


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths: a crafted ?next= must not send a citizen to another site."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def wants_json(request: Request) -> bool:
    """The offline outbox sends with Accept: application/json and reads the answer itself."""
    return "application/json" in request.headers.get("accept", "")
