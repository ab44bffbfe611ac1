"""The application factory: every route of Aduan is listed here, in one screen."""

from __future__ import annotations

import asyncio
import logging
from http.cookies import SimpleCookie
from zoneinfo import ZoneInfo

from litestar import Litestar, Request, Response
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.middleware.base import ASGIMiddleware
from litestar.plugins.htmx import HTMXPlugin, HTMXRequest
from litestar.response import Redirect, Template
from litestar.types import ASGIApp, Receive, Scope, Send

from db.engine import close_pool, start_pool
from web import i18n
from web.admin.routes import ROUTES as ADMIN_ROUTES
from web.assets import AssetManifest
from web.citizen.routes import ROUTES as CITIZEN_ROUTES
from web.city import get_city
from web.complaints.routes import ROUTES as COMPLAINT_ROUTES
from web.deps import Services, SignInRequired
from web.forwarded import Network
from web.http import LANG_COOKIE, BadParameter, refuse_nul_in_url, wants_json
from web.i18n import _
from web.inbox.live import LiveInbox
from web.inbox.routes import ROUTES as INBOX_ROUTES
from web.intake.routes import ROUTES as INTAKE_ROUTES
from web.lapor.routes import ROUTES as LAPOR_ROUTES
from web.logs import configure_logging, log_request
from web.messaging.messenger import messenger_from_settings
from web.notifications.routes import ROUTES as NOTIFICATION_ROUTES
from web.notifications.vapid import vapid_keys
from web.open311.admin_keys import ROUTES as API_KEY_ROUTES
from web.open311.routes import ROUTES as OPEN311_ROUTES
from web.open311.routes import api_error as open311_error
from web.open311.routes import is_api_path as is_open311_path
from web.photos.pipeline import megabytes
from web.photos.serving import SKIP_COMPRESSION
from web.photos.storage import StorageError, storage_from_settings
from web.pwa.routes import ROUTES as PWA_ROUTES
from web.reports.routes import ROUTES as REPORT_ROUTES
from web.sessions import COOKIE, CSRF_COOKIE, SessionMiddleware, cookie_name, read_session
from web.settings import Settings, get_settings
from web.sign_in.routes import ROUTES as STAFF_ROUTES
from web.slow_clients import BodyDeadlineMiddleware
from web.staff.access import StaffSignInRequired, is_staff_path, peek_staff
from web.staff.policy import staff_home
from web.system.headers import headers_hook, is_https
from web.system.routes import ROUTES as SYSTEM_ROUTES
from web.templating import make_template_config
from web.ticket_feed import TicketFeed

log = logging.getLogger("aduan")

ROUTE_HANDLERS = [
    *SYSTEM_ROUTES,  # /, /healthz, /readyz, /bahasa/{locale}, /static/...
    *CITIZEN_ROUTES,  # /daftar, /masuk, /masuk/kode, /keluar, /akun
    *COMPLAINT_ROUTES,  # /lapor, /laporan, /laporan/{number}, /laporan/{number}/foto/{id}
    *PWA_ROUTES,  # /sw.js, /manifest.webmanifest, /offline, /menunggu
    *STAFF_ROUTES,  # /staf/masuk, /staf/keluar
    *INBOX_ROUTES,  # /operator, /operator/langsung (live), /operator/tiket/{number}[/aksi|/lapor], /opd, /opd/tiket/{number}[/aksi], /staf/foto/{id}
    *INTAKE_ROUTES,  # /operator/baru, /operator/112, /operator/serah-terima
    *LAPOR_ROUTES,  # /operator/lapor[/impor], /operator/lapor/{number}/diperbarui
    *ADMIN_ROUTES,  # /admin, /admin/staf[/{id}], /admin/kategori/{id}[/pertanyaan[/ubah|hapus|pindah]]
    *REPORT_ROUTES,  # /pimpinan/laporan[.csv|.xlsx|/cetak], /operator/laporan-shift, /opd/laporan, /transparansi[/peta.json]
    *API_KEY_ROUTES,  # /admin/kunci-api[/{id}/cabut] (Open311 filing: in OPEN311_ROUTES below)
    *NOTIFICATION_ROUTES,  # /notifikasi/kunci, /notifikasi/langganan[/hapus], /notifikasi/perangkat[/{id}/hapus], /staf/notifikasi
    *OPEN311_ROUTES,  # /open311/v2/: discovery, services[/{code}], requests[/{id}] (GET, POST), tokens/{t}, servicerequestupdates
]


class AduanApp(Litestar):
    """Litestar with a request id and one access line for every HTTP request. Wrapping the app
    itself, not a middleware: Litestar's middleware never sees a request no route matches."""

    trusted_proxies: tuple[Network, ...] = ()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        await log_request(scope, receive, send, super().__call__, self.trusted_proxies)


class LocaleMiddleware(ASGIMiddleware):
    """Sets the UI language for the whole request, error pages included (cookie, else the default)."""

    def __init__(self, default_locale: str) -> None:
        self.default_locale = default_locale

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        locale = self.default_locale
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                cookie = SimpleCookie()
                try:
                    cookie.load(value.decode("latin-1"))
                except Exception:  # a malformed cookie header must not break the page
                    continue
                if LANG_COOKIE in cookie and cookie[LANG_COOKIE].value in i18n.LOCALES:
                    locale = cookie[LANG_COOKIE].value
        with i18n.use_locale(locale):
            await next_app(scope, receive, send)


def _error_message(status: int, detail: str) -> str:
    return {
        400: _("Permintaan tidak dapat diproses. Periksa isian Anda lalu coba lagi."),
        403: _("Anda tidak punya akses ke halaman ini."),
        404: _("Halaman tidak ditemukan."),
        405: _("Cara membuka halaman ini tidak didukung."),
        408: _("Kiriman terlalu lambat sampai ke server. Periksa koneksi Anda lalu kirim lagi."),
        429: _("Terlalu banyak permintaan. Tunggu sebentar lalu coba lagi."),
    }.get(status, _("Terjadi kesalahan di server. Coba lagi sebentar lagi."))


def http_error(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    message = _error_message(status, exc.detail)
    if status == 413:
        message = _(
            "Kiriman terlalu besar. Setiap foto paling besar %(mb)s MB; kecilkan foto atau kirim "
            "lebih sedikit foto.",
            mb=megabytes(request.app.state.services.settings.photo_max_bytes),
        )
    elif status == 403 and "csrf" in str(exc.detail).lower():
        message = _("Formulir sudah kedaluwarsa. Muat ulang halaman lalu kirim lagi.")
    elif isinstance(exc, BadParameter) or (
        status == 404 and exc.detail and exc.detail != "Not Found"
    ):
        message = exc.detail
    if is_open311_path(request.url.path):
        return open311_error(request, status, message, exc.headers)
    if wants_json(request):
        return Response(content={"errors": {"__all__": message}}, status_code=status)
    # Staff see their own layout and a way back to their work (found by staff_on_error_pages).
    staff = request.scope.get("state", {}).get("staff")
    return Template(
        template_name="error.html",
        context={
            "status": status,
            "message": message,
            "staff": staff,
            "staff_layout": staff is not None or is_staff_path(request.url.path),
            "home": staff_home(staff.role) if staff else "/",
        },
        status_code=status,
    )


async def staff_on_error_pages(exc: Exception, scope: Scope) -> None:
    """Before an error page: who is signed in as staff, when the guard has not said so already
    (a 403 from the guard, or a URL no route matches, where no middleware ran)."""
    if scope["type"] != "http" or not isinstance(exc, HTTPException) or exc.status_code >= 500:
        return
    if is_open311_path(scope["path"]):  # open data: no session is read, no page is shown
        return
    if isinstance(exc, SignInRequired | StaffSignInRequired):
        return
    state = scope.setdefault("state", {})
    if "staff" in state:
        return
    settings = scope["litestar_app"].state.services.settings
    try:
        session = scope.get("session")
        if not isinstance(session, dict):
            cookies = Request(scope).cookies
            session = await read_session(cookies.get(cookie_name(COOKIE, is_https(settings))))
        member = await peek_staff(session, settings.staff_idle_minutes * 60)
    except Exception:  # the error page must show even when the database does not answer
        log.exception("could not tell who is signed in for an error page")
        return
    if member is not None:
        state["staff"] = member


def sign_in_required(request: Request, exc: SignInRequired) -> Response:
    target = f"/masuk?next={request.url.path}"
    if wants_json(request):
        return Response(content={"sign_in": target}, status_code=401)
    if request.headers.get("hx-request"):
        return Response(content="", status_code=200, headers={"HX-Redirect": target})
    return Redirect(target, status_code=303)


def staff_sign_in_required(request: Request, exc: StaffSignInRequired) -> Response:
    target = f"/staf/masuk?next={request.url.path}"
    if request.headers.get("hx-request"):
        return Response(content="", status_code=200, headers={"HX-Redirect": target})
    return Redirect(target, status_code=303)


def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if is_open311_path(request.url.path):
        return open311_error(request, 500, _error_message(500, ""))
    return Template(
        template_name="error.html",
        context={"status": 500, "message": _error_message(500, "")},
        status_code=500,
    )


async def _run_jobs(services: Services, stop: asyncio.Event) -> None:
    """The embedded default runs the background jobs in the web process (production: web.worker)."""
    from web.jobs.runner import JobRunner, default_jobs

    jobs = default_jobs(services.settings, services.messenger, ZoneInfo(services.city.timezone))
    await JobRunner(jobs, lease_seconds=services.settings.job_lease_seconds).run_forever(stop)


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    # Here, because uvicorn loads the app after setting up its own loggers (and in each worker
    # process of --workers): from now on they write our format.
    configure_logging(settings.log_format, settings.log_level)
    city = get_city(settings)
    services = Services(
        settings=settings,
        city=city,
        storage=storage_from_settings(settings),
        messenger=messenger_from_settings(settings),
    )
    assets = AssetManifest()
    live_inbox = LiveInbox(TicketFeed(settings, poll_seconds=settings.live_poll_ms / 1000))

    async def on_startup(app: Litestar) -> None:
        vapid_keys(settings)  # made on first run and kept; a bad ADUAN_VAPID_PRIVATE_KEY stops here
        await start_pool(settings, role="web")
        try:
            await services.storage.ensure_ready()
        except StorageError as exc:
            # Serve anyway: citizens can still read their tickets, /readyz reports the outage,
            # and filings with photos fail cleanly until storage is back.
            log.error("photo storage not ready at start-up: %s", exc)
        if settings.jobs_in_process:
            app.state.jobs_stop = asyncio.Event()
            app.state.jobs_task = asyncio.create_task(_run_jobs(services, app.state.jobs_stop))

    async def on_shutdown(app: Litestar) -> None:
        if jobs_task := app.state.get("jobs_task"):
            app.state.jobs_stop.set()
            await asyncio.gather(jobs_task, return_exceptions=True)
        await live_inbox.feed.stop()
        await close_pool()

    secure_cookies = is_https(settings)
    app = AduanApp(
        route_handlers=ROUTE_HANDLERS,
        request_class=HTMXRequest,
        plugins=[HTMXPlugin()],
        template_config=make_template_config(settings, city, assets),
        middleware=[
            # Outermost, so that every reader of the body (CSRF, forms) is under its deadline.
            BodyDeadlineMiddleware(settings.request_body_timeout_seconds),
            LocaleMiddleware(settings.default_locale),
            SessionMiddleware(max_age=settings.session_max_age_seconds, secure=secure_cookies),
        ],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name=cookie_name(CSRF_COOKIE, secure_cookies),  # JS reads either name
            header_name="x-csrftoken",
            cookie_secure=secure_cookies,
        ),
        compression_config=CompressionConfig(
            backend="gzip", gzip_compress_level=6, exclude_opt_key=SKIP_COMPRESSION
        ),
        exception_handlers={
            SignInRequired: sign_in_required,
            StaffSignInRequired: staff_sign_in_required,
            HTTPException: http_error,
            Exception: server_error,
        },
        # A complaint's photos at their largest, plus the text fields.
        request_max_body_size=settings.photos_per_complaint * settings.photo_max_bytes
        + 2 * 1024 * 1024,
        before_request=refuse_nul_in_url,
        after_exception=[staff_on_error_pages],
        before_send=[headers_hook(settings)],  # CSP, framing, HSTS, Secure cookies, no-store
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        state=State({"services": services, "assets": assets, "live_inbox": live_inbox}),
        # No /schema pages: the HTML app has no public API description to publish, and a listing of
        # every route and parameter only helps a prober.
        openapi_config=None,
        logging_config=None,  # web.logs owns the handlers
        debug=False,
    )
    app.trusted_proxies = settings.trusted_proxy_networks
    return app
