"""Operator inbox (desktop, htmx partials) and the OPD queue (phone). Access: web/staff/policy.py."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest, HTMXTemplate
from litestar.response import Redirect, Response, Template

from web.deps import city_tz, services
from web.forms import FormErrors
from web.http import client_ip, path_id, row_id, ticket_number, wants_json
from web.i18n import _
from web.inbox import queries
from web.inbox.live import inbox_live
from web.inbox.outbox import OUTBOX_ACCOUNT_HEADER, after_action_url, answer_queued_action
from web.lapor import service as lapor
from web.lapor.rules import lapor_url
from web.photos.service import photo_with_ticket
from web.photos.serving import PHOTO_ROUTE_OPT, serve_photo
from web.photos.storage import StorageError
from web.photos.uploads import process_uploads
from web.staff.access import StaffMember, current_staff, outbox_owner, staff_router
from web.staff.policy import ANY_STAFF, OPD_STAFF, OPERATORS, READERS, may_see, reporter_of
from web.vocabulary import done_notice
from web.workflow.lifecycle import (
    REJECT_REASONS,
    RULES,
    Action,
    TransitionRefused,
    action_label,
    allowed_actions,
    reject_reason_label,
)
from web.workflow.service import Actor, StaleTicket, TicketNotFound, act
from web.workflow.sla import sla_label, sla_state

REJECT_CODES = tuple(REJECT_REASONS)


def _actor(request: Request) -> Actor:
    member = current_staff(request)
    return Actor(kind="staff", id=member.id, role=member.role, opd_id=member.opd_id)


def _page_or_partial(
    request: HTMXRequest, page: str, partial: str, target: str, context: dict
) -> Template:
    """One URL, two answers: the whole page, or for htmx only the part it swaps in."""
    wants_partial = bool(request.htmx) and request.htmx.target == target
    template = HTMXTemplate if wants_partial else Template
    return template(
        template_name=partial if wants_partial else page,
        context=context,
        headers={"Vary": "HX-Request, HX-Target", "Cache-Control": "private, no-store"},
    )


def _sla_context():
    from datetime import UTC, datetime

    now = datetime.now(UTC)

    def state(ticket: dict) -> str:
        return str(
            sla_state(
                now=now,
                started_at=ticket.get("sla_started_at"),
                due_at=ticket.get("sla_due_at"),
                status=ticket["status"],
            )
        )

    return {"sla_of": state, "sla_label": sla_label}


# --- Operator inbox ---------------------------------------------------------------------------


@get("/operator", name="inbox:list", opt={"roles": READERS})
async def inbox(request: HTMXRequest) -> Template:
    filters = queries.parse_filters(dict(request.query_params))
    rows, next_cursor = await queries.list_tickets(filters, tz=city_tz(request))
    context = {
        "tickets": rows,
        "filters": filters,
        "next_cursor": next_cursor,
        "staff": current_staff(request),
        **_sla_context(),
    }
    target = request.htmx.target if request.htmx else None
    if target == "inbox-more":  # "load more" swaps its own row for the next page of rows
        return _page_or_partial(
            request, "operator/inbox.html", "operator/_rows.html", "inbox-more", context
        )
    if target != "inbox-rows":
        context.update(await queries.filter_choices())
    return _page_or_partial(
        request, "operator/inbox.html", "operator/_rows.html", "inbox-rows", context
    )


async def _detail_context(request: Request, number: str) -> dict:
    member = current_staff(request)
    ticket = await queries.ticket_detail(number)
    if ticket is None or not may_see(ticket, _actor(request)):
        raise NotFoundException(_("Tiket tidak ditemukan."))
    choices = await queries.filter_choices()
    return {
        "ticket": ticket,
        "timeline": await queries.timeline(ticket["id"], include_internal=True),
        "photos": await queries.photos(ticket["id"]),
        "nearby": await queries.nearby_open_tickets(ticket)
        # Candidates for "duplicate of", while the ticket may still be marked as one.
        if ticket["status"] in RULES[Action.MARK_DUPLICATE].sources
        else [],
        "actions": allowed_actions(ticket["status"], member.role),
        "action_label": action_label,
        "reject_codes": REJECT_CODES,
        "reject_reason_label": reject_reason_label,
        "reporter": reporter_of(ticket, member.role),
        "staff": member,
        "opds": choices["opds"],
        "lapor_link": lapor_url(services(request).settings.lapor_report_url, ticket["lapor_id"])
        if ticket["lapor_id"]
        else "",
        "lapor_errors": {},
        "lapor_values": {"lapor_id": ticket["lapor_id"] or ""},
        **_sla_context(),
    }


@post("/operator/tiket/{number:str}/lapor", name="inbox:lapor-link", opt={"roles": OPERATORS})
async def inbox_lapor_link(request: Request, number: FromPath[str]) -> Template | Redirect:
    """Link the ticket to its SP4N-LAPOR! report, or correct the ID (web/lapor/service.py)."""
    form = await request.form()
    raw = str(form.get("lapor_id") or "")
    try:
        await lapor.link(
            number,
            raw,
            staff_id=current_staff(request).id,
            ip=client_ip(request, services(request).settings),
        )
    except lapor.UnknownTicket as exc:
        raise NotFoundException(exc.message) from exc
    except FormErrors as exc:
        context = await _detail_context(request, number)
        context["lapor_errors"] = exc.errors
        context["lapor_values"] = {"lapor_id": raw}
        return Template(template_name="operator/detail.html", context=context, status_code=400)
    return Redirect(f"/operator/tiket/{number}", status_code=303)


@get("/operator/tiket/{number:str}", name="inbox:detail", opt={"roles": READERS})
async def inbox_detail(request: HTMXRequest, number: FromPath[str]) -> Template:
    context = await _detail_context(request, number)
    return _page_or_partial(
        request, "operator/detail.html", "operator/_detail.html", "detail", context
    )


async def _read_action_form(request: Request) -> tuple[dict[str, str], list[UploadFile]]:
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    uploads = [f for f in form.getall("photos", []) if isinstance(f, UploadFile) and f.filename]
    return values, uploads


async def _apply(
    request: Request, number: str, values: dict[str, str], uploads: list[UploadFile]
) -> str | None:
    """Run the posted action; returns an error message for the user, or None when it worked."""
    svc = services(request)
    try:
        photos = await process_uploads(uploads, svc.settings)
        opd = values.get("opd", "")
        await act(
            number,
            values.get("action", ""),
            _actor(request),
            expected_version=row_id(values.get("version")) or 0,
            note=values.get("note", ""),
            reason_code=values.get("reason_code") or None,
            opd_id=row_id(opd),
            duplicate_of_number=values.get("duplicate_of") or None,
            photos=photos,
            storage=svc.storage,
            reopen_window_days=svc.settings.reopen_window_days,
            whatsapp_fallback=svc.settings.notify_whatsapp_fallback,
        )
    except TicketNotFound as exc:
        raise NotFoundException(_("Tiket tidak ditemukan.")) from exc
    except (TransitionRefused, StaleTicket) as exc:
        return exc.message
    except StorageError:
        return _("Foto tidak dapat disimpan saat ini. Coba lagi sebentar lagi.")
    except FormErrors as exc:
        return " ".join(exc.errors.values())
    finally:
        for upload in uploads:
            await upload.close()
    return None


@post("/operator/tiket/{number:str}/aksi", name="inbox:act", opt={"roles": OPERATORS})
async def inbox_act(request: HTMXRequest, number: FromPath[str]) -> Template | Redirect:
    values, uploads = await _read_action_form(request)
    problem = await _apply(request, number, values, uploads)
    if not request.htmx:
        return (
            Redirect(f"/operator/tiket/{number}", status_code=303)
            if problem is None
            else Template(
                template_name="operator/detail.html",
                context={
                    **await _detail_context(request, number),
                    "problem": problem,
                    "values": values,
                },
                status_code=409 if problem else 200,
            )
        )
    context = await _detail_context(request, number)
    context.update(
        {"problem": problem, "values": values if problem else {}, "done": problem is None}
    )
    response = HTMXTemplate(template_name="operator/_detail.html", context=context, status_code=200)
    if problem is None:
        response.headers["HX-Trigger"] = "ticket-changed"  # the list refreshes its row
    return response


# --- OPD queue (phone) ------------------------------------------------------------------------


def _staff_page_headers(member: StaffMember) -> dict[str, str]:
    # The service worker keeps the OPD's pages for offline reading in a cache of this account
    # only (service-worker/sw.js), and serves them only while this account is the phone's.
    return {"Cache-Control": "private, no-store", OUTBOX_ACCOUNT_HEADER: outbox_owner(member)}


@get("/opd", name="opd:queue", opt={"roles": OPD_STAFF})
async def opd_queue(request: HTMXRequest) -> Template:
    member = current_staff(request)
    params = dict(request.query_params)
    number = ticket_number(params.pop("tiket", None))
    notice = done_notice(params.pop("aksi", None), number) if number else None
    filters = queries.parse_filters({**params, "urut": params.get("urut", "sla")})
    rows, next_cursor = await queries.list_tickets(
        filters, tz=city_tz(request), opd_id=member.opd_id
    )
    return Template(
        template_name="opd/queue.html",
        context={
            "tickets": rows,
            "filters": filters,
            "next_cursor": next_cursor,
            "staff": member,
            "refreshed_at": datetime.now(UTC),
            "notice": notice,
            **_sla_context(),
        },
        headers=_staff_page_headers(member),
    )


@get("/opd/tiket/{number:str}", name="opd:detail", opt={"roles": OPD_STAFF})
async def opd_detail(request: HTMXRequest, number: FromPath[str]) -> Template:
    context = await _detail_context(request, number)
    context["notice"] = done_notice(request.query_params.get("aksi"), context["ticket"]["number"])
    return Template(
        template_name="opd/detail.html",
        context={**context, "refreshed_at": datetime.now(UTC)},
        headers=_staff_page_headers(current_staff(request)),
    )


@post("/opd/tiket/{number:str}/aksi", name="opd:act", opt={"roles": OPD_STAFF})
async def opd_act(request: Request, number: FromPath[str]) -> Template | Redirect | Response:
    values, uploads = await _read_action_form(request)
    if wants_json(request):  # from the phone's outbox, maybe done offline a while ago
        return await answer_queued_action(request, number, values, uploads)
    problem = await _apply(request, number, values, uploads)
    if problem is None:
        return Redirect(after_action_url(values.get("action", ""), number), status_code=303)
    context = await _detail_context(request, number)
    context.update({"problem": problem, "values": values, "refreshed_at": datetime.now(UTC)})
    return Template(template_name="opd/detail.html", context=context, status_code=409)


# --- Photos for staff ------------------------------------------------------------------------


async def _staff_photo(request: Request, photo_id: int, thumb: bool) -> Response:
    """Photos of the tickets this staff member may see (``may_see``, as on the ticket's page)."""
    photo = await photo_with_ticket(photo_id)
    visible = photo is not None and may_see(photo, _actor(request))
    return await serve_photo(services(request).storage, photo if visible else None, thumb=thumb)


@get(
    "/staf/foto/{photo_id:str}",
    name="staff:photo",
    opt={"roles": ANY_STAFF, **PHOTO_ROUTE_OPT},
)
async def staff_photo(request: Request, photo_id: FromPath[str]) -> Response:
    return await _staff_photo(request, path_id(photo_id), thumb=False)


@get(
    "/staf/foto/{photo_id:str}/kecil",
    name="staff:thumb",
    opt={"roles": ANY_STAFF, **PHOTO_ROUTE_OPT},
)
async def staff_thumb(request: Request, photo_id: FromPath[str]) -> Response:
    return await _staff_photo(request, path_id(photo_id), thumb=True)


ROUTES = [
    staff_router(
        inbox,
        inbox_live,
        inbox_detail,
        inbox_act,
        inbox_lapor_link,
        opd_queue,
        opd_detail,
        opd_act,
        staff_photo,
        staff_thumb,
    )
]
