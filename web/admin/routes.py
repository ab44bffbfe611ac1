"""Admin pages: staff accounts and categories. Only the admin role (web/staff/policy.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from db.city_data import DATATYPES, MAX_QUESTIONS
from web import sessions
from web.admin import questions, service
from web.deps import services
from web.forms import FormErrors
from web.http import path_id
from web.i18n import _
from web.inbox.queries import filter_choices
from web.jobs.health import job_label, job_status
from web.staff.access import current_staff, staff_router
from web.staff.policy import ADMINS, LEADERS, ROLES


async def _page(
    request: Request,
    *,
    errors: dict | None = None,
    values: dict | None = None,
    edited: dict | None = None,
    edited_category: dict | None = None,
    status: int = 200,
) -> Template:
    return Template(
        template_name="admin/index.html",
        context={
            "staff_list": await service.list_staff(),
            "sign_in_warnings": await service.sign_in_warnings(),
            "categories": await service.list_categories(),
            "opds": (await filter_choices())["opds"],
            "roles": ROLES,
            "role_label": service.role_label,
            "errors": errors or {},
            "values": values or {},
            "edited": edited or {},  # a refused role change: its row shows what was chosen
            "edited_category": edited_category
            or {},  # a refused change: its row shows what was typed
            "staff": current_staff(request),
        },
        status_code=status,
        headers={"Cache-Control": "private, no-store"},
    )


@get("/admin", name="admin:index", opt={"roles": ADMINS})
async def admin_index(request: Request) -> Template:
    return await _page(request)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


@post("/admin/staf", name="admin:create-staff", opt={"roles": ADMINS})
async def create_staff(request: Request) -> Template | Redirect:
    values = await _form(request)
    try:
        await service.create_staff(values, admin_id=current_staff(request).id)
    except FormErrors as exc:
        values.pop("password", None)
        return await _page(request, errors=exc.errors, values=values, status=400)
    return Redirect("/admin", status_code=303)


@post("/admin/staf/{staff_id:str}", name="admin:update-staff", opt={"roles": ADMINS})
async def update_staff(request: Request, staff_id: FromPath[str]) -> Template | Redirect:
    member_id = path_id(staff_id)
    values = await _form(request)
    admin_id = current_staff(request).id
    try:
        if values.get("action") == "password":
            await service.reset_password(member_id, values.get("password", ""), admin_id=admin_id)
            if member_id == admin_id:
                # The reset ended every session of this account; this browser goes on under a
                # fresh one, the others must sign in with the new password.
                sessions.rotate(request, request.session)
        elif values.get("action") == "role":
            await service.change_role(member_id, values, admin_id=admin_id)
        else:
            await service.set_active(
                member_id, values.get("action") == "activate", admin_id=admin_id
            )
    except FormErrors as exc:
        edited = None
        if values.get("action") == "role":
            edited = {"id": member_id, "role": values.get("role", ""), "opd": values.get("opd", "")}
        return await _page(request, errors=exc.errors, edited=edited, status=400)
    return Redirect("/admin", status_code=303)


@post("/admin/kategori/{category_id:str}", name="admin:update-category", opt={"roles": ADMINS})
async def update_category(request: Request, category_id: FromPath[str]) -> Template | Redirect:
    values = await _form(request)
    try:
        await service.update_category(
            path_id(category_id), values, admin_id=current_staff(request).id
        )
    except FormErrors as exc:
        edited = {**values, "id": path_id(category_id)}
        return await _page(request, errors=exc.errors, edited_category=edited, status=400)
    return Redirect("/admin", status_code=303)


async def _category(category_id: str) -> dict:
    category = await service.category_with_questions(path_id(category_id))
    if category is None:
        raise NotFoundException(_("Halaman tidak ditemukan."))
    return category


async def _questions_page(
    request: Request,
    category: dict,
    *,
    editing: str | None = None,
    errors: dict | None = None,
    values: dict | None = None,
    status: int = 200,
) -> Template:
    """The category's questions; below them the form to add one, or to edit ``editing``."""
    edited = next((q for q in category["questions"] if q.code == editing), None)
    if values is None:
        values = questions.form_values(edited) if edited else {}
    return Template(
        template_name="admin/questions.html",
        context={
            "category": category,
            "questions": category["questions"],
            "editing": edited.code if edited else None,
            "datatypes": DATATYPES,
            "datatype_label": questions.datatype_label,
            "max_questions": MAX_QUESTIONS,
            "errors": errors or {},
            "values": values,
            "staff": current_staff(request),
        },
        status_code=status,
        headers={"Cache-Control": "private, no-store"},
    )


def _to_questions(category: dict) -> Redirect:
    return Redirect(f"/admin/kategori/{category['id']}/pertanyaan", status_code=303)


@get("/admin/kategori/{category_id:str}/pertanyaan", name="admin:questions", opt={"roles": ADMINS})
async def questions_page(request: Request, category_id: FromPath[str]) -> Template:
    return await _questions_page(
        request, await _category(category_id), editing=request.query_params.get("ubah")
    )


@post(
    "/admin/kategori/{category_id:str}/pertanyaan", name="admin:add-question", opt={"roles": ADMINS}
)
async def add_question(request: Request, category_id: FromPath[str]) -> Template | Redirect:
    category = await _category(category_id)
    values = await _form(request)
    try:
        question = questions.parse_question(values)
        await service.change_questions(
            category["id"],
            lambda stored: questions.add(stored, question),
            admin_id=current_staff(request).id,
            action="added",
            code=question.code,
        )
    except FormErrors as exc:
        return await _questions_page(
            request, await _category(category_id), errors=exc.errors, values=values, status=400
        )
    return _to_questions(category)


@post(
    "/admin/kategori/{category_id:str}/pertanyaan/ubah",
    name="admin:update-question",
    opt={"roles": ADMINS},
)
async def update_question(request: Request, category_id: FromPath[str]) -> Template | Redirect:
    category = await _category(category_id)
    values = await _form(request)
    code = values.get("code", "")
    try:
        question = questions.parse_question(values, code=code)
        await service.change_questions(
            category["id"],
            lambda stored: questions.update(stored, question, seen=values.get("seen", "")),
            admin_id=current_staff(request).id,
            action="updated",
            code=code,
        )
    except FormErrors as exc:
        return await _questions_page(
            request, category, editing=code, errors=exc.errors, values=values, status=400
        )
    except questions.QuestionConflict as exc:
        # The list shows the question as it is now; what this admin typed stays in the form,
        # which now answers to that version, so saving again is a choice made with it in view.
        fresh = await _category(category_id)
        now = next((q for q in fresh["questions"] if q.code == code), None)
        if now is not None:
            values = {**values, "seen": questions.fingerprint(now)}
        return await _questions_page(
            request,
            fresh,
            editing=code,
            errors={"__all__": exc.message},
            values=values,
            status=409,
        )
    return _to_questions(category)


@post(
    "/admin/kategori/{category_id:str}/pertanyaan/hapus",
    name="admin:remove-question",
    opt={"roles": ADMINS},
)
async def remove_question(request: Request, category_id: FromPath[str]) -> Redirect:
    category = await _category(category_id)
    code = (await _form(request)).get("code", "")
    await service.change_questions(
        category["id"],
        lambda stored: questions.remove(stored, code),
        admin_id=current_staff(request).id,
        action="removed",
        code=code,
    )
    return _to_questions(category)


@post(
    "/admin/kategori/{category_id:str}/pertanyaan/pindah",
    name="admin:move-question",
    opt={"roles": ADMINS},
)
async def move_question(request: Request, category_id: FromPath[str]) -> Template | Redirect:
    category = await _category(category_id)
    values = await _form(request)
    code = values.get("code", "")
    try:
        await service.change_questions(
            category["id"],
            lambda stored: questions.move(stored, code, values.get("direction", "")),
            admin_id=current_staff(request).id,
            action="moved",
            code=code,
        )
    except questions.QuestionConflict as exc:
        return await _questions_page(
            request, await _category(category_id), errors={"__all__": exc.message}, status=409
        )
    return _to_questions(category)


# Supervisors are alerted when a job is late: they may read the status page too.
@get("/admin/pekerjaan", name="admin:jobs", opt={"roles": LEADERS})
async def job_status_page(request: Request) -> Template:
    now = datetime.now(UTC)
    return Template(
        template_name="admin/jobs.html",
        context={
            "jobs": await job_status(now, services(request).settings),
            "job_label": job_label,
            "staff": current_staff(request),
        },
        headers={"Cache-Control": "private, no-store"},
    )


ROUTES = [
    staff_router(
        job_status_page,
        admin_index,
        create_staff,
        update_staff,
        update_category,
        questions_page,
        add_question,
        update_question,
        remove_question,
        move_question,
    )
]
