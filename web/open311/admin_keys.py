"""Admin pages for API keys: list, create (the key is shown once), revoke. Admin role only."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from web.forms import FormErrors
from web.http import path_id
from web.open311 import keys
from web.staff.access import current_staff, staff_router
from web.staff.policy import ADMINS
from web.vocabulary import PRIVACY_LEVELS, PUBLIC

PAGE = "/admin/kunci-api"


async def _page(
    request: Request,
    *,
    errors: dict | None = None,
    values: dict | None = None,
    new_token: str = "",
    new_name: str = "",
    status: int = 200,
) -> Template:
    return Template(
        template_name="admin/api_keys.html",
        context={
            "keys": await keys.list_keys(),
            "scopes": keys.SCOPES,
            "scope_label": keys.scope_label,
            "privacy_levels": PRIVACY_LEVELS,
            "errors": errors or {},
            "values": values
            or {"scope": keys.READ, "default_privacy": PUBLIC, "rate_per_minute": "60"},
            "new_token": new_token,
            "new_name": new_name,
            "staff": current_staff(request),
        },
        status_code=status,
        # The page that shows a new key must never be kept by a browser or a proxy.
        headers={"Cache-Control": "private, no-store"},
    )


@get(PAGE, name="admin:api-keys", opt={"roles": ADMINS})
async def api_keys_page(request: Request) -> Template:
    return await _page(request)


@post(PAGE, name="admin:create-api-key", opt={"roles": ADMINS})
async def create_api_key(request: Request) -> Template:
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    try:
        _key_id, token = await keys.create_key(values, admin_id=current_staff(request).id)
    except FormErrors as exc:
        return await _page(request, errors=exc.errors, values=values, status=400)
    # Answered in place, not redirected: the key exists only in this one answer.
    return await _page(request, new_token=token, new_name=values.get("name", "").strip())


@post(f"{PAGE}/{{key_id:str}}/cabut", name="admin:revoke-api-key", opt={"roles": ADMINS})
async def revoke_api_key(request: Request, key_id: FromPath[str]) -> Redirect:
    await keys.revoke_key(path_id(key_id), admin_id=current_staff(request).id)
    return Redirect(PAGE, status_code=303)


ROUTES = [staff_router(api_keys_page, create_api_key, revoke_api_key)]
