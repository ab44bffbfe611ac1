"""Filing a complaint, the citizen's list and ticket pages, and photos for those allowed to see them."""

from __future__ import annotations

import logging
import uuid
from typing import TypeVar
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response, Template

from db.city_data import City
from web.citizen.accounts import outbox_owner
from web.complaints import service
from web.complaints.forms import FIELDS, ComplaintDraft, parse_complaint_form
from web.complaints.questions import Answer, answers_json
from web.deps import current_citizen_id, require_citizen, services
from web.forms import FormErrors
from web.http import (
    OUTBOX_HEADER,
    OUTBOX_KEY_MAX,
    client_ip,
    cursor_id,
    path_id,
    row_id,
    wants_json,
)
from web.i18n import _
from web.photos.service import photo_with_ticket
from web.photos.serving import PHOTO_ROUTE_OPT, serve_photo
from web.photos.uploads import process_uploads
from web.vocabulary import CLASSIFICATIONS, PRIVACY_LEVELS, PUBLIC, done_notice
from web.workflow import service as workflow
from web.workflow.lifecycle import TransitionRefused, allowed_actions

log = logging.getLogger("aduan.complaints")

citizen_only = {"citizen_id": Provide(require_citizen)}

# How long the outbox waits before resending after a fault on our side (storage down, a bug).
RETRY_AFTER_SECONDS = 30


def _form_page_sync(
    values: dict,
    errors: dict,
    status: int = 200,
    headers: dict[str, str] | None = None,
    answers: dict[str, list[str]] | None = None,
) -> Template:
    return Template(
        template_name="complaints/new.html",
        context={
            "values": values,
            "answers": answers or {},
            "errors": errors,
            "classifications": CLASSIFICATIONS,
            "privacy_levels": PRIVACY_LEVELS,
        },
        status_code=status,
        headers=headers,
    )


AnswerT = TypeVar("AnswerT", bound=Response)


async def _with_choices(response: AnswerT) -> AnswerT:
    """Add the category and kelurahan lists to a form page (JSON answers need none)."""
    if isinstance(response, Template):
        response.context.update(await service.form_choices())
    return response


async def _form_page(values: dict, errors: dict, status: int = 200) -> Template:
    return await _with_choices(_form_page_sync(values, errors, status))


@get("/lapor", name="complaints:new")
async def new_complaint() -> Template:
    # Open to everyone and free of personal data, so the service worker can keep it for offline use;
    # sending needs a sign-in. The key is minted with the form: resending the same form (double
    # tap, refresh) files one ticket. With JavaScript, each new report gets a fresh key in the page.
    return await _form_page(
        {"client_key": str(uuid.uuid4()), "classification": CLASSIFICATIONS[0], "privacy": PUBLIC},
        {},
    )


@post("/lapor", name="complaints:create")
async def create_complaint(request: Request) -> Template | Redirect | Response:
    svc = services(request)
    form = await request.form()
    values = {name: str(form.get(name) or "") for name in FIELDS}
    typed_answers = service.typed_answers(form)
    uploads = [f for f in form.getall("photos", []) if isinstance(f, UploadFile) and f.filename]
    as_json = wants_json(request)
    # Echoed as received in every JSON answer: the outbox counts an answer as ours, and as the
    # answer for that item, only when it carries the item's own key (a captive portal's 200 does not).
    echo_key = values["client_key"].strip()[:OUTBOX_KEY_MAX]

    def answer(content: dict, status: int, headers: dict[str, str] | None = None) -> Response:
        return Response(
            content={**content, "client_key": echo_key},
            status_code=status,
            headers={OUTBOX_HEADER: echo_key, **(headers or {})},
        )

    def refused(errors: dict[str, str], status: int) -> Template | Response:
        if as_json:
            return answer({"errors": errors}, status)
        return _form_page_sync(values, errors, status, answers=typed_answers)

    def unavailable(message: str) -> Template | Response:
        retry = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        if as_json:
            return answer(
                {"errors": {"__all__": message}, "retry_after": RETRY_AFTER_SECONDS},
                503,
                retry,
            )
        return _form_page_sync(values, {"__all__": message}, 503, retry, typed_answers)

    citizen_id = await current_citizen_id(request)
    try:
        if citizen_id is None:
            if as_json:
                return answer({"sign_in": "/masuk?next=/menunggu"}, 401)
            raise FormErrors.single(
                "__all__",
                _(
                    "Anda perlu masuk dulu. Isian Anda masih ada di bawah; masuk di tab lain lalu kirim lagi."
                ),
            )
        # An outbox item belongs to the account that wrote it (a shared phone): refused before
        # anything is looked up or stored, so another account learns nothing, not even a number.
        if as_json and str(form.get("owner") or "").strip() != outbox_owner(citizen_id):
            return answer(
                {
                    "owner_mismatch": True,
                    "errors": {
                        "__all__": _(
                            "Laporan ini ditulis di ponsel ini oleh akun lain. Laporan dikirim setelah pemiliknya masuk."
                        )
                    },
                },
                409,
            )
        draft, answers = await _checked(form, values, svc.city)
        existing = await service.find_by_client_key(draft.client_key)
        # A resend of a filing that already went through: skip the photo work, answer the same ticket.
        photos = [] if existing else await process_uploads(uploads, svc.settings)
        filed = await service.create_complaint(
            draft,
            citizen_id=citizen_id,
            photos=photos,
            storage=svc.storage,
            city=svc.city,
            ip=client_ip(request, svc.settings),
            whatsapp_fallback=svc.settings.notify_whatsapp_fallback,
            attributes=answers_json(answers),
        )
    except FormErrors as exc:
        return await _with_choices(refused(exc.errors, 401 if citizen_id is None else 400))
    except service.ComplaintConflict:
        values["client_key"] = str(uuid.uuid4())
        return await _with_choices(
            refused(
                {"__all__": _("Formulir ini sudah dipakai. Periksa isian lalu kirim lagi.")}, 409
            )
        )
    except service.FilingUnavailable as exc:
        return await _with_choices(unavailable(exc.message))
    except Exception:
        log.exception("filing failed; nothing was kept")
        return await _with_choices(
            unavailable(
                _(
                    "Laporan belum tersimpan karena gangguan di server. Isian Anda masih ada; kirim lagi sebentar lagi."
                )
            )
        )
    finally:
        for upload in uploads:
            await upload.close()
    url = f"/laporan/{filed.number}"
    if as_json:
        return answer(
            {"number": filed.number, "url": url, "created": filed.created},
            201 if filed.created else 200,
        )
    return Redirect(f"{url}?terkirim=1", status_code=303)


async def _checked(form, values: dict, city: City) -> tuple[ComplaintDraft, list[Answer]]:
    """The form's fields and the chosen category's answers, every problem reported at once."""
    errors: dict[str, str] = {}
    try:
        draft = parse_complaint_form(values, city)
    except FormErrors as exc:
        errors = dict(exc.errors)
    answers: list[Answer] = []
    try:
        answers = await service.checked_answers(
            lambda name: form.getall(name, []), values["category"].strip(), city, as_shown=True
        )
    except FormErrors as exc:
        errors.update(exc.errors)
    if errors:
        raise FormErrors(errors)
    return draft, answers


@get("/laporan", name="complaints:mine", dependencies=citizen_only)
async def my_complaints(
    citizen_id: NamedDependency[int], sebelum: FromQuery[str | None] = None
) -> Template:
    rows, next_before = await service.list_for_citizen(citizen_id, before_id=cursor_id(sebelum))
    return Template(
        template_name="complaints/list.html",
        context={"complaints": rows, "next_before": next_before, "is_first_page": sebelum is None},
    )


async def _detail_page(
    number: str,
    citizen_id: int,
    *,
    problem: str = "",
    values: dict | None = None,
    status: int = 200,
    just_filed: bool = False,
    done: str | None = None,
) -> Template:
    complaint = await service.get_for_citizen(number, citizen_id)
    if complaint is None:
        raise NotFoundException(_("Laporan tidak ditemukan."))
    return Template(
        template_name="complaints/detail.html",
        context={
            "complaint": complaint,
            "timeline": await service.public_timeline(complaint["id"]),
            "photos": await service.photos_of(complaint["id"]),
            "actions": allowed_actions(complaint["status"], "citizen"),
            "just_filed": just_filed,
            "notice": done_notice(done, complaint["number"]),
            "problem": problem,
            "values": values or {},
        },
        status_code=status,
    )


@get("/laporan/{number:str}", name="complaints:detail", dependencies=citizen_only)
async def complaint_detail(
    number: FromPath[str],
    citizen_id: NamedDependency[int],
    terkirim: FromQuery[int | None] = None,
    aksi: FromQuery[str | None] = None,
) -> Template:
    return await _detail_page(number, citizen_id, just_filed=bool(terkirim), done=aksi)


@post("/laporan/{number:str}/aksi", name="complaints:act", dependencies=citizen_only)
async def citizen_act(
    request: Request, number: FromPath[str], citizen_id: NamedDependency[int]
) -> Template | Redirect:
    """The citizen confirms a resolved ticket, or reopens it with a reason."""
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    try:
        await workflow.act(
            number,
            values.get("action", ""),
            workflow.Actor(kind="citizen", id=citizen_id, role="citizen"),
            expected_version=row_id(values.get("version")) or 0,
            note=values.get("note", ""),
            reopen_window_days=services(request).settings.reopen_window_days,
            whatsapp_fallback=services(request).settings.notify_whatsapp_fallback,
        )
    except workflow.TicketNotFound as exc:
        raise NotFoundException(_("Laporan tidak ditemukan.")) from exc
    except (TransitionRefused, workflow.StaleTicket) as exc:
        return await _detail_page(
            number, citizen_id, problem=exc.message, values=values, status=409
        )
    # The page confirms what was done (``aksi``: the action's code).
    return Redirect(
        f"/laporan/{number}?{urlencode({'aksi': values.get('action', '')})}", status_code=303
    )


@post("/laporan/{number:str}/nilai", name="complaints:rate", dependencies=citizen_only)
async def citizen_rate(
    request: Request, number: FromPath[str], citizen_id: NamedDependency[int]
) -> Template | Redirect:
    form = await request.form()
    values = {name: str(form.get(name) or "") for name in ("rating", "comment")}
    try:
        await service.rate(number, citizen_id, stars=values["rating"], comment=values["comment"])
    except FormErrors as exc:
        return await _detail_page(
            number, citizen_id, problem=" ".join(exc.errors.values()), values=values, status=400
        )
    return Redirect(f"/laporan/{number}?aksi=rate", status_code=303)


async def _photo(
    request: Request, number: str, photo_id: int, citizen_id: int, thumb: bool
) -> Response:
    """Photos of the citizen's own tickets only (``may_see``), named under the ticket's number."""
    photo = await photo_with_ticket(photo_id)
    reporter = workflow.Actor(kind="citizen", id=citizen_id, role="citizen")
    visible = photo is not None and photo["number"] == number and workflow.may_see(photo, reporter)
    return await serve_photo(services(request).storage, photo if visible else None, thumb=thumb)


@get(
    "/laporan/{number:str}/foto/{photo_id:str}",
    name="complaints:photo",
    dependencies=citizen_only,
    opt=PHOTO_ROUTE_OPT,
)
async def complaint_photo(
    request: Request,
    number: FromPath[str],
    photo_id: FromPath[str],
    citizen_id: NamedDependency[int],
) -> Response:
    return await _photo(request, number, path_id(photo_id), citizen_id, thumb=False)


@get(
    "/laporan/{number:str}/foto/{photo_id:str}/kecil",
    name="complaints:thumb",
    dependencies=citizen_only,
    opt=PHOTO_ROUTE_OPT,
)
async def complaint_thumb(
    request: Request,
    number: FromPath[str],
    photo_id: FromPath[str],
    citizen_id: NamedDependency[int],
) -> Response:
    return await _photo(request, number, path_id(photo_id), citizen_id, thumb=True)


ROUTES = [
    new_complaint,
    create_complaint,
    my_complaints,
    complaint_detail,
    citizen_act,
    citizen_rate,
    complaint_photo,
    complaint_thumb,
]
