"""Operator pages for SP4N-LAPOR!: the tickets to update there, and import. Linking one ticket is
on its ticket page (web/inbox/routes.py)."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template

from web.deps import services
from web.forms import parse_int
from web.http import client_ip
from web.i18n import _
from web.lapor import service
from web.lapor.rules import IMPORT_MAX_ROWS, ImportRow, lapor_url, parse_csv, parse_pasted
from web.staff.access import current_staff, staff_router
from web.staff.policy import OPERATORS
from web.vocabulary import status_label

PASTE_MAX = 200_000  # characters of pasted text
CSV_MAX_BYTES = 1_000_000


@get("/operator/lapor", name="lapor:waiting", opt={"roles": OPERATORS})
async def waiting(request: Request) -> Template:
    after = parse_int(request.query_params.get("setelah"), minimum=0, maximum=2**31 - 1) or 0
    rows, next_after = await service.waiting(after=after)
    return Template(
        template_name="operator/lapor.html",
        context={
            "rows": rows,
            "next_after": next_after,
            "status_label": status_label,
            "lapor_url": lambda lapor_id: lapor_url(
                services(request).settings.lapor_report_url, lapor_id
            ),
            "staff": current_staff(request),
        },
    )


@post("/operator/lapor/{number:str}/diperbarui", name="lapor:mark", opt={"roles": OPERATORS})
async def mark_updated(request: HTMXRequest, number: FromPath[str]) -> Template | Redirect:
    form = await request.form()
    event_id = parse_int(str(form.get("event") or ""), minimum=1, maximum=2**31 - 1)
    try:
        if event_id is None:
            raise service.NotLinked(_("Perubahan itu tidak ditemukan pada tiket ini."))
        await service.mark_updated(
            number,
            event_id,
            staff_id=current_staff(request).id,
            ip=client_ip(request, services(request).settings),
        )
    except service.UnknownTicket as exc:
        raise NotFoundException(exc.message) from exc
    except service.NotLinked as exc:
        raise ClientException(exc.message) from exc
    if request.htmx:
        return Template(template_name="operator/_lapor_done.html", context={"number": number})
    return Redirect("/operator/lapor", status_code=303)


def _import_page(request: Request, values: dict, errors: dict, status: int = 200, done=None):
    return Template(
        template_name="operator/lapor_import.html",
        context={
            "values": values,
            "errors": errors,
            "done": done or [],
            "max_rows": IMPORT_MAX_ROWS,
            "staff": current_staff(request),
        },
        status_code=status,
    )


@get("/operator/lapor/impor", name="lapor:import-form", opt={"roles": OPERATORS})
async def import_form(request: Request) -> Template:
    return _import_page(request, {}, {})


@post("/operator/lapor/impor", name="lapor:import", opt={"roles": OPERATORS})
async def import_reports(request: Request) -> Template:
    svc = services(request)
    form = await request.form()
    pasted = str(form.get("reports") or "") if isinstance(form.get("reports"), str) else ""
    values = {"reports": pasted[:PASTE_MAX]}
    upload = form.get("csv")
    rows: list[ImportRow]
    if upload is not None and not isinstance(upload, str) and upload.filename:
        data = await upload.read(CSV_MAX_BYTES + 1)
        if len(data) > CSV_MAX_BYTES:
            return _import_page(
                request, values, {0: service.too_big_message(CSV_MAX_BYTES)}, status=400
            )
        rows, errors = parse_csv(data)
    else:
        if len(pasted) > PASTE_MAX:
            return _import_page(request, values, {0: service.too_big_message(PASTE_MAX)}, 400)
        rows, errors = parse_pasted(pasted)
    if len(rows) + len(errors) > IMPORT_MAX_ROWS:
        errors = {0: service.too_many_message(IMPORT_MAX_ROWS)}
    try:
        if errors:
            raise service.ImportRefused(errors)
        result = await service.import_reports(
            rows,
            city=svc.city,
            storage=svc.storage,
            staff_id=current_staff(request).id,
            ip=client_ip(request, svc.settings),
            whatsapp_fallback=svc.settings.notify_whatsapp_fallback,
        )
    except service.ImportRefused as exc:
        return _import_page(request, values, dict(sorted(exc.errors.items())), status=400)
    return _import_page(request, {}, {}, done=result.numbers)


ROUTES = [staff_router(waiting, mark_updated, import_form, import_reports)]
