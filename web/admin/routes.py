"""Admin pages: staff accounts and categories. Only the admin role (web/staff/policy.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from web import sessions
from web.admin import service
from web.deps import services
from web.forms import FormErrors
from web.http import path_id
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


ROUTES = [staff_router(job_status_page, admin_index, create_staff, update_staff, update_category)]
