"""Home page, health check, language switch and content-hashed static files."""

from __future__ import annotations

import mimetypes

from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import File, Redirect, Response, Template

from db.tables import CityInfo
from web.deps import services
from web.http import LANG_COOKIE, safe_next
from web.i18n import LOCALES


@get("/", name="home")
async def home() -> Template:
    # No personal data here: the page is kept by the service worker for offline use.
    return Template(template_name="home.html")


@get("/healthz", name="healthz", skip_session=True, cache_control=None)
async def healthz(request: Request) -> Response:
    """Database and photo storage reachability, for load balancers and uptime checks."""
    checks: dict[str, str] = {}
    try:
        await CityInfo.select(CityInfo.id).limit(1)
        checks["database"] = "ok"
    except Exception as exc:  # any failure means "not ready"; the type is in the message
        checks["database"] = f"error: {type(exc).__name__}"
    storage = services(request).storage
    try:
        await storage.check()
        checks["storage"] = "ok"
    except Exception as exc:
        checks["storage"] = f"error: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return Response(
        content={"status": "ok" if healthy else "error", "storage_backend": storage.name, **checks},
        status_code=200 if healthy else 503,
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


ROUTES = [home, healthz, set_language, static_file]
