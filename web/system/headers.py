"""Security and caching headers on every response: pages, fragments, errors, redirects, static
files and /sw.js alike.

A ``before_send`` hook rather than route middleware: Litestar runs route middleware only for
matched routes, while this hook sees every message the app sends (404s of unknown paths and
405s included).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from litestar.types import Message, Scope

from web.settings import Settings

# Anything that does not say otherwise is kept out of every cache: a page with personal data
# must not survive sign-out on a shared phone, and a new route is safe without anyone
# remembering. Public pages and static files set their own Cache-Control.
DEFAULT_CACHE_CONTROL = "no-store"

# Only Aduan sends this: the service worker keeps no answer without it, so a captive portal's
# login page (a 200 for any address) is never cached or taken as one of our pages.
OURS_HEADER = b"x-aduan"

PERMISSIONS_POLICY = (
    # The filing form uses GPS and the camera (through the file input); nothing else.
    "geolocation=(self), camera=(self), microphone=(), payment=(), usb=(), "
    "magnetometer=(), gyroscope=(), accelerometer=(), display-capture=()"
)


def tile_origin(tile_url: str) -> str:
    """The origin of the map tiles for img-src; ``{s}`` subdomains become a wildcard."""
    parts = urlsplit(tile_url.replace("{s}", "tiles-s"))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    host = parts.netloc.replace("tiles-s", "*")
    return f"{parts.scheme}://{host}"


def content_security_policy(settings: Settings) -> str:
    images = " ".join(
        filter(None, ["'self'", "data:", "blob:", tile_origin(settings.map_tile_url)])
    )
    directives = {
        "default-src": "'self'",
        # No inline scripts or handlers, no eval: htmx runs with allowEval off (base.html).
        "script-src": "'self'",
        # Inline style attributes are kept out of the templates too, so styles need no exception.
        "style-src": "'self'",
        "img-src": images,
        "connect-src": "'self'",
        "font-src": "'self'",
        "worker-src": "'self'",
        "manifest-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def security_headers(settings: Settings) -> dict[str, str]:
    headers = {
        "content-security-policy": content_security_policy(settings),
        "x-frame-options": "DENY",
        "x-content-type-options": "nosniff",
        # Other sites see our origin, never a path (ticket numbers): the map tile servers need a
        # Referer under their usage policy (OpenStreetMap blocks tile requests without one).
        "referrer-policy": "strict-origin-when-cross-origin",
        "permissions-policy": PERMISSIONS_POLICY,
        "cross-origin-opener-policy": "same-origin",
    }
    if is_https(settings):
        headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"
    return headers


def is_https(settings: Settings) -> bool:
    return settings.public_base_url.lower().startswith("https://")


def _secure_cookie(value: bytes) -> bytes:
    attributes = [part.strip().lower() for part in value.split(b";")[1:]]
    return value if b"secure" in attributes else value + b"; Secure"


def headers_hook(settings: Settings) -> Callable[[Message, Scope], Awaitable[None]]:
    """The ``before_send`` hook: adds the headers and, behind https, ``Secure`` on every cookie
    (session, csrftoken, bahasa and any added later)."""
    fixed = [(name.encode(), value.encode()) for name, value in security_headers(settings).items()]
    fixed.append((OURS_HEADER, b"1"))
    fixed_names = {name for name, _ in fixed}
    secure_cookies = is_https(settings)

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = []
        has_cache_control = False
        for name, value in message.get("headers", []):
            name = name.lower()
            if name in fixed_names:
                continue  # ours win: a handler cannot weaken them by accident
            if name == b"cache-control":
                has_cache_control = True
            if name == b"set-cookie" and secure_cookies:
                value = _secure_cookie(value)
            headers.append((name, value))
        headers.extend(fixed)
        if not has_cache_control:
            headers.append((b"cache-control", DEFAULT_CACHE_CONTROL.encode()))
        message["headers"] = headers

    return add_headers
