"""Home page, liveness and readiness checks, language switch and content-hashed static files."""

from __future__ import annotations

import mimetypes
from datetime import UTC, datetime

from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import File, Redirect, Response, Template

from web.deps import services
from web.http import LANG_COOKIE, safe_next
from web.i18n import LOCALES
from web.system.health import readiness

HEALTH_JSON = "application/health+json"  # the IETF health check draft's media type


@get("/", name="home")
async def home() -> Template:
    # No personal data here: the page is kept by the service worker for offline use.
    return Template(template_name="home.html")


@get("/healthz", name="healthz", skip_session=True, cache_control=None)
async def healthz() -> Response:
    """Liveness: the process answers. No dependency is checked (see /readyz for those)."""
    return Response(
        content={"status": "pass"},
        media_type=HEALTH_JSON,
        headers={"Cache-Control": "no-store"},
    )


@get("/readyz", name="readyz", skip_session=True, cache_control=None)
async def readyz(request: Request) -> Response:
    """Readiness: 200 while the database answers, else 503; the body details every part."""
    ready, body = await readiness(
        services(request).settings, services(request).storage, now=datetime.now(UTC)
    )
    return Response(
        content=body,
        status_code=200 if ready else 503,
        media_type=HEALTH_JSON,
        headers={"Cache-Control": "no-store"},
    )


@get("/bahasa/{locale:str}", name="language")
async def set_language(locale: FromPath[str], next: FromQuery[str | None] = None) -> Redirect:
    response = Redirect(safe_next(next, "/"), status_code=303)
    if locale in LOCALES:
        response.set_cookie(
            LANG_COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax", httponly=True
        )
    return response


@get("/static/{path:path}", name="static", skip_session=True)
async def static_file(request: Request, path: FromPath[str]) -> File:
    resolved = request.app.state.assets.resolve(path.lstrip("/"))
    if resolved is None:
        raise NotFoundException()
    media_type = mimetypes.guess_type(resolved.name)[0] or "application/octet-stream"
    return File(
        path=resolved,
        media_type=media_type,
        content_disposition_type="inline",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


ROUTES = [home, healthz, readyz, set_language, static_file]
