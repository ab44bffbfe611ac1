"""The pieces that make Aduan an installable, offline-capable app.

The service worker source lives in ``service-worker/sw.js``; it is served from the site root so its
scope is the whole site, with the current precache list and version written in front of it.
"""

from __future__ import annotations

import hashlib
import json

from litestar import Request, get
from litestar.response import Response, Template

from web.assets import AssetManifest
from web.i18n import _
from web.settings import PROJECT_ROOT

SW_SOURCE = PROJECT_ROOT / "service-worker" / "sw.js"

# Pages kept for offline use. They carry no personal data: per-user bits load as fragments.
SHELL_PAGES = ("/", "/lapor", "/menunggu", "/offline")
SHELL_ASSETS = (
    "css/app.css",
    "js/app.js",
    "js/outbox-core.js",
    "js/outbox.js",
    "js/photos.js",
    "js/opd.js",
    "vendor/htmx.min.js",
    "vendor/idb.js",
    "icons/icon-192.png",
)


def service_worker_source(assets: AssetManifest, release: str) -> str:
    precache = [assets.url(path) for path in SHELL_ASSETS]
    source = SW_SOURCE.read_text()
    # The version changes whenever the worker, anything it precaches or the release changes: that
    # is what makes the browser install the new worker and drop the old caches.
    version = hashlib.sha256((source + "".join(precache) + release).encode()).hexdigest()[:12]
    config = {
        "version": version,
        "shellPages": list(SHELL_PAGES),
        "precache": precache,
        "idb": assets.url("vendor/idb.js"),
        "outboxCore": assets.url("js/outbox-core.js"),
        "icon": assets.url("icons/icon-192.png"),  # shown with push notifications
    }
    return f"self.ADUAN = {json.dumps(config)};\n{source}"


@get("/sw.js", name="pwa:service-worker", skip_session=True)
async def service_worker(request: Request) -> Response:
    source = service_worker_source(
        request.app.state.assets, request.app.state.services.settings.release
    )
    # Browsers re-check the worker on navigations: an ETag makes an unchanged one cost a 304.
    etag = '"' + hashlib.sha256(source.encode()).hexdigest()[:16] + '"'
    headers = {"Cache-Control": "no-cache", "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(content=b"", status_code=304, headers=headers)
    return Response(content=source, media_type="text/javascript; charset=utf-8", headers=headers)


@get("/manifest.webmanifest", name="pwa:manifest", skip_session=True)
async def manifest(request: Request) -> Response:
    assets: AssetManifest = request.app.state.assets
    city = request.app.state.services.city
    body = {
        "name": _("Aduan %(city)s", city=city.name),
        "short_name": "Aduan",
        "description": _("Layanan pengaduan resmi %(city)s.", city=city.name),
        "lang": "id",
        "dir": "ltr",
        "start_url": "/?sumber=pwa",
        "scope": "/",
        "id": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f2f5f3",
        "theme_color": "#0b5d3b",
        "categories": ["government", "utilities"],
        "icons": [
            {
                "src": assets.url("icons/icon-192.png"),
                "sizes": "192x192",
                "type": "image/png",
                "purpose": "any",
            },
            {
                "src": assets.url("icons/icon-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "any",
            },
            {
                "src": assets.url("icons/icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    return Response(
        content=json.dumps(body, ensure_ascii=False),
        media_type="application/manifest+json",
        headers={"Cache-Control": "no-cache"},
    )


@get("/offline", name="pwa:offline")
async def offline() -> Template:
    return Template(template_name="pwa/offline.html")


@get("/menunggu", name="pwa:outbox")
async def outbox_page() -> Template:
    return Template(template_name="pwa/outbox.html")


ROUTES = [service_worker, manifest, offline, outbox_page]
