"""Staff sign-in and sign-out. Staff pages themselves live with their area (inbox, opd)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template

from db.tables import StaffUser
from web import sessions
from web.deps import services
from web.forms import FormErrors, check_text
from web.http import client_ip, safe_next
from web.notifications.subscriptions import Owner, forget_this_device_on_sign_out
from web.sign_in.alerts import warn_admins
from web.staff import auth
from web.staff.access import SESSION_SEEN, SESSION_STAFF
from web.staff.policy import staff_home

FormData = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


@get("/staf/masuk", name="staff:sign-in")
async def sign_in_form(next: FromQuery[str | None] = None) -> Template:
    return Template(
        template_name="staff/sign_in.html", context={"values": {}, "errors": {}, "next": next or ""}
    )


@post("/staf/masuk", name="staff:sign-in-submit")
async def sign_in_submit(request: Request, data: FormData) -> Template | Redirect:
    svc = services(request)
    values = {"username": data.get("username", "")}
    try:
        # An over-long or NUL-holding name is no account: refused before the database sees it.
        check_text({**values, "password": data.get("password", "")})
        staff_id = await auth.authenticate(
            username=values["username"],
            password=data.get("password", ""),
            ip=client_ip(request, svc.settings),
            settings=svc.settings,
            warn_admins=warn_admins,
        )
    except FormErrors as exc:
        return Template(
            template_name="staff/sign_in.html",
            context={"values": values, "errors": exc.errors, "next": data.get("next", "")},
            status_code=400,
        )
    # A fresh session under a new id: nothing from before sign-in carries over (session fixation).
    sessions.rotate(request, {SESSION_STAFF: staff_id, SESSION_SEEN: datetime.now(UTC).timestamp()})
    member = await StaffUser.select(StaffUser.role).where(StaffUser.id == staff_id).first()
    # None: deleted meanwhile.
    home = "/staf/masuk" if member is None else staff_home(member["role"])
    return Redirect(safe_next(data.get("next"), home), status_code=303)


@post("/staf/keluar", name="staff:sign-out")
async def sign_out(request: Request) -> Redirect:
    staff_id = request.session.get(SESSION_STAFF) if request.scope.get("session") else None
    form = await request.form()
    await forget_this_device_on_sign_out(
        Owner("staff", staff_id) if isinstance(staff_id, int) else None,
        str(form.get("push_endpoint") or ""),
    )
    sessions.end(request)
    return Redirect("/staf/masuk", status_code=303)


ROUTES = [sign_in_form, sign_in_submit, sign_out]
