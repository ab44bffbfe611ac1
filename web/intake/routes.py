"""Operator pages for what does not come through the app: phone, walk-in, SP4N-LAPOR!, 112 calls."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from litestar import Request, get, post
from litestar.response import Redirect, Template

from db.engine import is_unique_violation
from web.citizen.accounts import citizen_id_for_phone
from web.complaints import service as complaints
from web.complaints.forms import FIELDS, parse_complaint_form
from web.complaints.questions import answers_json
from web.deps import city_tz, services
from web.forms import FormErrors, text_errors
from web.http import client_ip
from web.i18n import _
from web.intake import service
from web.lapor import service as lapor
from web.messaging.phone import PhoneError, normalize_phone
from web.staff.access import current_staff, staff_router
from web.staff.policy import OPERATORS, READERS
from web.vocabulary import CLASSIFICATIONS, PRIVACY_LEVELS, PUBLIC, channel_label, current_code

INTAKE_CHANNELS = ("phone", "walk_in", "lapor")


async def _intake_page(
    request: Request,
    values: dict,
    errors: dict,
    status: int = 200,
    answers: dict[str, list[str]] | None = None,
) -> Template:
    return Template(
        template_name="operator/intake.html",
        context={
            "values": values,
            "answers": answers or {},
            "errors": errors,
            "classifications": CLASSIFICATIONS,
            "privacy_levels": PRIVACY_LEVELS,
            "channels": INTAKE_CHANNELS,
            "channel_label": channel_label,
            "staff": current_staff(request),
            **await complaints.form_choices(),
        },
        status_code=status,
    )


@get("/operator/baru", name="intake:new", opt={"roles": OPERATORS})
async def intake_form(request: Request) -> Template:
    return await _intake_page(
        request,
        {
            "client_key": str(uuid.uuid4()),
            "classification": CLASSIFICATIONS[0],
            "privacy": PUBLIC,
            "channel": INTAKE_CHANNELS[0],
        },
        {},
    )


@post("/operator/baru", name="intake:create", opt={"roles": OPERATORS})
async def intake_create(request: Request) -> Template | Redirect:
    svc = services(request)
    form = await request.form()
    values = {
        name: str(form.get(name) or "")
        for name in (*FIELDS, "channel", "reporter_name", "reporter_contact", "lapor_id")
    }
    typed_answers = complaints.typed_answers(form)
    lapor_id: str | None = None
    try:
        errors = text_errors(values)
        values["channel"] = current_code(values["channel"])  # a form opened before the rename
        if values["channel"] not in INTAKE_CHANNELS:
            errors["channel"] = _("Pilih kanal laporan.")
        if values["lapor_id"].strip():
            if values["channel"] != "lapor":
                errors["lapor_id"] = _(
                    "Nomor SP4N-LAPOR! hanya untuk laporan dari kanal SP4N-LAPOR!."
                )
            else:
                try:
                    lapor_id = await lapor.check_new_lapor_id(values["lapor_id"])
                except FormErrors as exc:
                    errors.update(exc.errors)
        citizen_id = None
        contact = values["reporter_contact"].strip()
        if contact:
            try:
                contact = normalize_phone(contact)
                # A registered citizen sees the ticket in "Laporan saya" too.
                citizen_id = await citizen_id_for_phone(contact)
            except PhoneError:
                pass  # an e-mail or landline is fine as a contact; only a mobile links an account
        try:
            draft = parse_complaint_form(values, svc.city)
        except FormErrors as exc:
            errors.update(exc.errors)
        # The category's own questions, asked by the operator on the citizen's behalf.
        answers = []
        try:
            answers = await complaints.checked_answers(
                lambda name: form.getall(name, []), values["category"].strip(), svc.city
            )
        except FormErrors as exc:
            errors.update(exc.errors)
        if errors:
            raise FormErrors(errors)
        filed = await complaints.create_complaint(
            draft,
            citizen_id=citizen_id,
            photos=[],
            storage=svc.storage,
            city=svc.city,
            channel=values["channel"],
            ip=client_ip(request, svc.settings),
            staff_id=current_staff(request).id,
            reporter_name=" ".join(values["reporter_name"].split()),
            reporter_contact=contact,
            whatsapp_fallback=svc.settings.notify_whatsapp_fallback,
            lapor_id=lapor_id,
            attributes=answers_json(answers),
        )
    except FormErrors as exc:
        return await _intake_page(request, values, exc.errors, 400, typed_answers)
    except complaints.ComplaintConflict:
        values["client_key"] = str(uuid.uuid4())
        return await _intake_page(
            request,
            values,
            {"__all__": _("Formulir ini sudah dipakai. Periksa isian lalu kirim lagi.")},
            409,
            typed_answers,
        )
    except Exception as exc:
        if not (lapor_id and is_unique_violation(exc, "lapor_id")):
            raise
        # Another operator filed the same LAPOR! report at this very moment: name that ticket
        # once it is there (it is, as soon as the index refused ours), as the check before would.
        owner = await lapor.owner_of(lapor_id)
        message = (
            lapor.duplicate_message(lapor_id, owner) if owner else lapor.taken_meanwhile(lapor_id)
        )
        return await _intake_page(request, values, {"lapor_id": message}, 400, typed_answers)
    return Redirect(f"/operator/tiket/{filed.number}", status_code=303)


async def _calls_page(
    request: Request, errors: dict | None = None, status: int = 200, values: dict | None = None
) -> Template:
    tz = city_tz(request)
    start, end = service.day_bounds(datetime.now(UTC), tz)
    return Template(
        template_name="operator/calls.html",
        context={
            "counts": await service.call_counts(start, end),
            "recent": await service.recent_calls(),
            "kinds": service.CALL_KINDS,
            "kind_label": service.call_kind_label,
            "errors": errors or {},
            "values": values or {},
            "staff": current_staff(request),
        },
        status_code=status,
    )


@get("/operator/112", name="intake:calls", opt={"roles": READERS})
async def calls(request: Request) -> Template:
    return await _calls_page(request)


@post("/operator/112", name="intake:log-call", opt={"roles": OPERATORS})
async def log_call(request: Request) -> Template | Redirect:
    form = await request.form()
    note = str(form.get("note") or "")
    try:
        await service.log_call(
            kind=str(form.get("kind") or ""), note=note, operator_id=current_staff(request).id
        )
    except FormErrors as exc:
        return await _calls_page(request, exc.errors, 400, values={"note": note})
    return Redirect("/operator/112", status_code=303)


@get("/operator/serah-terima", name="intake:handover", opt={"roles": READERS})
async def handover(request: Request) -> Template:
    svc = services(request)
    tz = city_tz(request)
    now = datetime.now(UTC)
    since = service.shift_start(now, tz, service.parse_shift_starts(svc.settings.shift_starts))
    return Template(
        template_name="operator/handover.html",
        context={
            "since": since,
            "staff": current_staff(request),
            **await service.handover(now, since),
        },
    )


ROUTES = [staff_router(intake_form, intake_create, calls, log_call, handover)]
