"""Citizen sign-up and sign-in pages. Rules live in ``accounts.py``."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.plugins.htmx import HTMXRequest, HTMXTemplate
from litestar.response import Redirect, Response, Template

from web import sessions
from web.citizen import accounts
from web.citizen.accounts import PURPOSE_REGISTER, PURPOSE_SIGN_IN, PendingRegistration
from web.city import nik_prefix_policy
from web.deps import SESSION_CITIZEN, current_citizen_id, services
from web.forms import FormErrors
from web.http import client_ip, safe_next
from web.i18n import _
from web.messaging.phone import PhoneError, mask_phone, normalize_phone
from web.notifications.subscriptions import Owner, forget_this_device_on_sign_out
from web.staff.access import load_staff
from web.staff.access import outbox_owner as staff_owner

FormData = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]

SESSION_PENDING = "pending_sign_in"  # {"phone", "purpose", "next", "registration"?}


def _page(name: str, status: int = 200, **context) -> Template:
    return Template(template_name=name, context=context, status_code=status)


@get("/daftar", name="citizen:register")
async def register_form(request: Request, next: FromQuery[str | None] = None) -> Template:
    return _page("citizen/register.html", values={}, errors={}, next=safe_next(next, "/lapor"))


@post("/daftar", name="citizen:register-submit")
async def register_submit(request: Request, data: FormData) -> Template | Redirect:
    svc = services(request)
    values = {k: data.get(k, "") for k in ("nik", "name", "phone")}
    next_url = safe_next(data.get("next"), "/lapor")
    policy = nik_prefix_policy(svc.settings, svc.city)
    try:
        pending = accounts.validate_registration(
            nik=values["nik"],
            name=values["name"],
            phone=values["phone"],
            settings=svc.settings,
            required_prefix=svc.city.nik_prefix if policy == "strict" else None,
            city_name=svc.city.name,
        )
        ip = client_ip(request, svc.settings)
        await accounts.count_lookup(ip=ip, settings=svc.settings)
        await accounts.check_not_registered(pending)
        await accounts.send_code(
            phone=pending.phone,
            purpose=PURPOSE_REGISTER,
            ip=ip,
            settings=svc.settings,
            messenger=svc.messenger,
        )
    except FormErrors as exc:
        return _page("citizen/register.html", 400, values=values, errors=exc.errors, next=next_url)
    request.session[SESSION_PENDING] = {
        "phone": pending.phone,
        "purpose": PURPOSE_REGISTER,
        "next": next_url,
        "registration": pending.to_session(),
    }
    return Redirect("/masuk/kode", status_code=303)


@get("/masuk", name="citizen:sign-in")
async def sign_in_form(request: Request, next: FromQuery[str | None] = None) -> Template | Redirect:
    if await current_citizen_id(request):
        return Redirect(safe_next(next, "/laporan"), status_code=303)
    return _page("citizen/sign_in.html", values={}, errors={}, next=safe_next(next, "/laporan"))


@post("/masuk", name="citizen:sign-in-submit")
async def sign_in_submit(request: Request, data: FormData) -> Template | Redirect:
    svc = services(request)
    values = {"phone": data.get("phone", "")}
    next_url = safe_next(data.get("next"), "/laporan")
    try:
        try:
            phone = normalize_phone(values["phone"])
        except PhoneError as exc:
            raise FormErrors.single("phone", exc.message) from exc
        ip = client_ip(request, svc.settings)
        await accounts.count_lookup(ip=ip, settings=svc.settings)
        if await accounts.citizen_id_for_phone(phone) is None:
            raise FormErrors.single(
                "phone",
                _("Nomor ini belum terdaftar. Daftar dulu dengan NIK dan nomor WhatsApp Anda."),
            )
        await accounts.send_code(
            phone=phone,
            purpose=PURPOSE_SIGN_IN,
            ip=ip,
            settings=svc.settings,
            messenger=svc.messenger,
        )
    except FormErrors as exc:
        return _page("citizen/sign_in.html", 400, values=values, errors=exc.errors, next=next_url)
    request.session[SESSION_PENDING] = {
        "phone": phone,
        "purpose": PURPOSE_SIGN_IN,
        "next": next_url,
    }
    return Redirect("/masuk/kode", status_code=303)


def _pending(request: Request) -> dict | None:
    pending = request.session.get(SESSION_PENDING)
    return pending if isinstance(pending, dict) and pending.get("phone") else None


@get("/masuk/kode", name="citizen:code")
async def code_form(request: Request) -> Template | Redirect:
    pending = _pending(request)
    if pending is None:
        return Redirect("/masuk", status_code=303)
    return _page(
        "citizen/code.html", errors={}, phone=mask_phone(pending["phone"]), pending=pending
    )


@post("/masuk/kode", name="citizen:code-submit")
async def code_submit(request: Request, data: FormData) -> Template | Redirect:
    svc = services(request)
    pending = _pending(request)
    if pending is None:
        return Redirect("/masuk", status_code=303)
    ip = client_ip(request, svc.settings)
    try:
        if data.get("action") == "resend":
            await accounts.send_code(
                phone=pending["phone"],
                purpose=pending["purpose"],
                ip=ip,
                settings=svc.settings,
                messenger=svc.messenger,
            )
            return _page(
                "citizen/code.html",
                errors={},
                phone=mask_phone(pending["phone"]),
                pending=pending,
                resent=True,
            )
        await accounts.verify_code(
            phone=pending["phone"],
            purpose=pending["purpose"],
            code=data.get("code", ""),
            settings=svc.settings,
        )
        if pending["purpose"] == PURPOSE_REGISTER:
            registration = PendingRegistration.from_session(pending.get("registration"))
            if registration is None:
                return Redirect("/daftar", status_code=303)
            citizen_id = await accounts.create_citizen(registration, ip=ip)
        else:
            known = await accounts.citizen_id_for_phone(pending["phone"])
            if known is None:
                return Redirect("/daftar", status_code=303)
            citizen_id = known
            await accounts.record_sign_in(citizen_id, ip=ip)
    except FormErrors as exc:
        return _page(
            "citizen/code.html",
            400,
            errors=exc.errors,
            phone=mask_phone(pending["phone"]),
            pending=pending,
        )
    next_url = safe_next(pending.get("next"), "/laporan")
    # A fresh session under a new id: nothing from before sign-in carries over (session fixation).
    sessions.rotate(request, {SESSION_CITIZEN: citizen_id})
    return Redirect(next_url, status_code=303)


@post("/keluar", name="citizen:sign-out")
async def sign_out(request: Request) -> Redirect:
    citizen_id = await current_citizen_id(request)
    form = await request.form()
    await forget_this_device_on_sign_out(
        Owner("citizen", citizen_id) if citizen_id else None,
        str(form.get("push_endpoint") or ""),
    )
    sessions.end(request)
    return Redirect("/", status_code=303)


@get("/akun", name="citizen:account")
async def account(request: HTMXRequest) -> Template | Redirect | Response:
    citizen_id = await current_citizen_id(request)
    if "application/json" in request.headers.get("accept", ""):
        # The outbox asks this to learn whose items it may send now, and whom the others wait for.
        citizen = await accounts.get_citizen(citizen_id) if citizen_id else None
        content = {
            "signed_in": citizen is not None,
            "account": accounts.outbox_owner(citizen["id"]) if citizen else None,
            "label": mask_phone(citizen["phone"]) if citizen else None,
        }
        if citizen is None:
            # OPD staff queue their actions in the same outbox, under their staff account.
            settings = services(request).settings
            member = await load_staff(request, settings.staff_idle_minutes * 60)
            if member is not None:
                content = {"signed_in": True, "account": staff_owner(member), "label": member.name}
        return Response(
            content=content, headers={"Vary": "Accept", "Cache-Control": "private, no-store"}
        )
    if request.htmx:
        # The "who is signed in" chip that cacheable pages load for themselves.
        citizen = await accounts.get_citizen(citizen_id) if citizen_id else None
        return HTMXTemplate(
            template_name="_account_chip.html",
            context={
                "citizen": citizen,
                # The outbox remembers who writes on this phone (no request of its own per page).
                "outbox_owner": accounts.outbox_owner(citizen["id"]) if citizen else "",
                "outbox_label": mask_phone(citizen["phone"]) if citizen else "",
            },
            headers={"Vary": "HX-Request", "Cache-Control": "private, no-store"},
        )
    if citizen_id is None:
        return Redirect("/masuk?next=/akun", status_code=303)
    citizen = await accounts.get_citizen(citizen_id)
    if citizen is None:
        sessions.end(request)
        return Redirect("/masuk", status_code=303)
    response = _page("citizen/account.html", citizen=citizen, phone=mask_phone(citizen["phone"]))
    response.headers.update({"Vary": "HX-Request", "Cache-Control": "private, no-store"})
    return response


ROUTES = [
    register_form,
    register_submit,
    sign_in_form,
    sign_in_submit,
    code_form,
    code_submit,
    sign_out,
    account,
]
