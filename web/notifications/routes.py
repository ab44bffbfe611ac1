"""Turning notifications on and off: the public key, a browser's subscription, the device list.

Citizens and staff use the same routes; whoever is signed in owns the subscription. The browser
asks for permission only when the person presses "Aktifkan notifikasi" (static/js/app.js).
"""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest, HTMXTemplate
from litestar.response import Redirect, Response, Template
from litestar.types import ControllerRouterHandler

from web.deps import current_citizen_id, services
from web.forms import FormErrors
from web.http import path_id, wants_json
from web.i18n import _
from web.notifications import subscriptions
from web.notifications.endpoints import allowed_hosts
from web.notifications.subscriptions import Owner
from web.notifications.vapid import vapid_keys
from web.staff.access import current_staff, load_staff, staff_router
from web.staff.policy import ANY_STAFF

NO_STORE = {"Cache-Control": "private, no-store"}
# The browser tells which subscription it holds, so the list can mark "this device".
ENDPOINT_HEADER = "x-push-endpoint"


async def current_owner(request: Request) -> Owner | None:
    settings = services(request).settings
    member = await load_staff(request, settings.staff_idle_minutes * 60)
    if member is not None:
        return Owner("staff", member.id)
    citizen_id = await current_citizen_id(request)
    return Owner("citizen", citizen_id) if citizen_id is not None else None


def _sign_in_needed() -> Response:
    message = _("Masuk dulu untuk mengatur notifikasi.")
    return Response({"errors": {"__all__": message}, "sign_in": "/masuk"}, status_code=401)


@get("/notifikasi/kunci", name="notifications:key", skip_session=True)
async def public_key(request: Request) -> Response:
    """The applicationServerKey browsers subscribe with (base64url, uncompressed P-256 point)."""
    keys = vapid_keys(services(request).settings)
    return Response({"publicKey": keys.public_key}, headers={"Cache-Control": "no-cache"})


@post("/notifikasi/langganan", name="notifications:subscribe", request_max_body_size=16_384)
async def subscribe(request: Request) -> Response:
    owner = await current_owner(request)
    if owner is None:
        return _sign_in_needed()
    try:
        data = await request.json()
    except Exception:  # not JSON at all: the same answer as JSON of the wrong shape
        data = None
    settings = services(request).settings
    allowed = allowed_hosts(settings.push_allowed_hosts)
    try:
        subscription = subscriptions.parse_subscription(
            data, allowed=allowed, allow_http=not settings.is_production
        )
    except FormErrors as exc:
        return Response({"errors": exc.errors}, status_code=400, headers=NO_STORE)
    try:
        await subscriptions.count_subscribe(owner, per_hour=settings.push_subscribe_per_hour)
    except FormErrors as exc:
        return Response({"errors": exc.errors}, status_code=429, headers=NO_STORE)
    try:
        await subscriptions.check_endpoint_in_thread(
            subscription.endpoint, allowed, settings.push_dns_timeout_seconds
        )
    except FormErrors as exc:
        return Response({"errors": exc.errors}, status_code=400, headers=NO_STORE)
    device = subscriptions.device_label(request.headers.get("user-agent", ""))
    subscription_id = await subscriptions.save_subscription(
        owner, subscription, device=device, now=datetime.now(UTC), keep=settings.push_max_devices
    )
    return Response({"id": subscription_id, "device": device}, status_code=201, headers=NO_STORE)


@post("/notifikasi/langganan/hapus", name="notifications:unsubscribe", request_max_body_size=16_384)
async def unsubscribe(request: Request) -> Response:
    """The browser turned notifications off for itself (it knows only its endpoint)."""
    owner = await current_owner(request)
    if owner is None:
        return _sign_in_needed()
    try:
        data = await request.json()
    except Exception:
        data = None
    endpoint = data.get("endpoint") if isinstance(data, dict) else None
    if not isinstance(endpoint, str) or not endpoint:
        message = _(
            "Alamat layanan notifikasi tidak sah: harus alamat https dari layanan push browser."
        )
        return Response({"errors": {"endpoint": message}}, status_code=400, headers=NO_STORE)
    removed = await subscriptions.remove_by_endpoint(owner, endpoint)
    return Response({"removed": removed}, headers=NO_STORE)


async def _devices_answer(request: HTMXRequest, owner: Owner) -> Template | Response:
    devices = await subscriptions.devices_of(
        owner, this_endpoint=request.headers.get(ENDPOINT_HEADER, "")
    )
    this_device = any(device["this_device"] for device in devices)
    if wants_json(request):
        return Response({"this_device": this_device, "devices": len(devices)}, headers=NO_STORE)
    return HTMXTemplate(
        template_name="notifications/_devices.html",
        context={"devices": devices, "this_device": this_device},
        headers=NO_STORE,
    )


@get("/notifikasi/perangkat", name="notifications:devices")
async def devices(request: HTMXRequest) -> Template | Response:
    """This person's devices (an htmx fragment), or for JSON whether this browser is among them."""
    owner = await current_owner(request)
    if owner is None:
        return _sign_in_needed()
    return await _devices_answer(request, owner)


@post("/notifikasi/perangkat/{device_id:str}/hapus", name="notifications:remove-device")
async def remove_device(request: HTMXRequest, device_id: FromPath[str]) -> Template | Response:
    owner = await current_owner(request)
    if owner is None:
        return _sign_in_needed()
    await subscriptions.remove_device(owner, path_id(device_id))
    if request.htmx:
        return await _devices_answer(request, owner)
    return Redirect("/staf/notifikasi" if owner.kind == "staff" else "/akun", status_code=303)


@get("/staf/notifikasi", name="notifications:staff", opt={"roles": ANY_STAFF})
async def staff_page(request: Request) -> Template:
    return Template(
        template_name="notifications/staff.html",
        context={"staff": current_staff(request)},
        headers=NO_STORE,
    )


ROUTES: list[ControllerRouterHandler] = [
    public_key,
    subscribe,
    unsubscribe,
    devices,
    remove_device,
    staff_router(staff_page),
]
