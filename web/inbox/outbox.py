"""The JSON answers to OPD actions sent by the phone's outbox (the protocol of POST /lapor: the key
echoed in ``X-Aduan-Outbox`` and ``client_key``). Rules: web/workflow/offline.py."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from litestar import Request
from litestar.datastructures import UploadFile
from litestar.response import Response

from web.deps import services
from web.forms import FormErrors
from web.http import OUTBOX_HEADER, OUTBOX_KEY_MAX, row_id
from web.i18n import _
from web.photos.storage import StorageError
from web.photos.uploads import process_uploads
from web.staff.access import current_staff, outbox_owner
from web.workflow.lifecycle import Action
from web.workflow.offline import apply_queued, parse_done_at
from web.workflow.service import Actor

RETRY_AFTER_SECONDS = 30
# Names the account whose OPD page this is, for the service worker's per-account cache.
OUTBOX_ACCOUNT_HEADER = "X-Aduan-Account"


def after_action_url(action: str, number: str) -> str:
    """Where the OPD page goes after an action, with ``aksi`` so that page confirms what was done:
    back to the queue after resolving or returning, the ticket otherwise (form and outbox alike)."""
    if action in (Action.RESOLVE, Action.RETURN_TO_OPERATOR):
        return "/opd?" + urlencode({"aksi": action, "tiket": number})
    return f"/opd/tiket/{number}?" + urlencode({"aksi": action})


async def answer_queued_action(
    request: Request, number: str, values: dict[str, str], uploads: list[UploadFile]
) -> Response:
    """Apply an action from the staff phone's outbox and answer in the outbox's terms."""
    svc = services(request)
    member = current_staff(request)
    echo_key = values.get("client_key", "").strip()[:OUTBOX_KEY_MAX]

    def answer(content: dict, status: int, headers: dict[str, str] | None = None) -> Response:
        return Response(
            content={**content, "client_key": echo_key},
            status_code=status,
            headers={OUTBOX_HEADER: echo_key, "Cache-Control": "no-store", **(headers or {})},
        )

    try:
        if values.get("owner", "").strip() != outbox_owner(member):
            # Another staff member's item on a shared phone: nothing is looked up or applied.
            message = _("Tindakan ini dicatat di ponsel ini oleh akun lain.")
            return answer({"owner_mismatch": True, "errors": {"__all__": message}}, 409)
        try:
            key = uuid.UUID(echo_key)
        except ValueError:
            return answer({"errors": {"__all__": _("Kunci tindakan tidak sah.")}}, 400)
        photos = await process_uploads(uploads, svc.settings)
        outcome = await apply_queued(
            number,
            values.get("action", ""),
            Actor(kind="staff", id=member.id, role=member.role, opd_id=member.opd_id),
            client_key=key,
            seen_version=row_id(values.get("version")) or 0,
            done_at=parse_done_at(values.get("done_at", "")),
            note=values.get("note", ""),
            photos=photos,
            storage=svc.storage,
            reopen_window_days=svc.settings.reopen_window_days,
            whatsapp_fallback=svc.settings.notify_whatsapp_fallback,
        )
    except FormErrors as exc:
        return answer({"errors": exc.errors}, 400)
    except StorageError:
        message = _("Foto tidak dapat disimpan saat ini. Coba lagi sebentar lagi.")
        retry = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return answer(
            {"errors": {"__all__": message}, "retry_after": RETRY_AFTER_SECONDS}, 503, retry
        )
    finally:
        for upload in uploads:
            await upload.close()
    body = {"ticket": outcome.ticket, "url": f"/opd/tiket/{number}"}
    if outcome.kind == "applied":
        return answer(
            {
                **body,
                "applied": True,
                "next": after_action_url(values.get("action", ""), number),
                "repeated": outcome.repeated,
                "event_at": outcome.event_at.isoformat() if outcome.event_at else None,
                "clamped": outcome.clamped,
            },
            200,
        )
    if outcome.kind == "conflict":
        return answer(
            {
                **body,
                "conflict": True,
                "reason": outcome.message,
                "errors": {"__all__": outcome.message},
            },
            409,
        )
    return answer({**body, "errors": {"__all__": outcome.message}}, 422)
