"""Open311 GeoReport v2, the writing side: POST requests, tokens, and FixMyStreet's
servicerequestupdates. Filing goes through the citizen form's own rules (parse_complaint_form,
create_complaint, the photo pipeline), with channel ``api`` and the key's name in the audit row.

Idempotency: a client sends its own key for a report, as the ``Idempotency-Key`` header or the
``client_key`` field (any text up to 200 characters); the same key from the same API key files
once and answers the same ticket. The token we answer is the ticket's idempotency UUID, which
``tokens/{token}`` resolves for tickets filed through the API.

A client's ``media_url`` is never fetched: photos come in the request (``media``, or
FixMyStreet's ``photo1..N``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import Response
from piccolo.columns.combination import Combinable

from db.city_data import City, Question, questions_from_json
from db.tables import Category, Complaint, TimelineEvent
from web.complaints import service
from web.complaints.forms import TITLE_MAX, TITLE_MIN, parse_complaint_form
from web.complaints.questions import Answer, answers_json, check_answers
from web.deps import services
from web.forms import FormErrors, parse_int, text_errors
from web.http import client_ip
from web.i18n import _
from web.open311.formats import render
from web.open311.keys import FILE, READ, KeyRefused, authenticate_key, authenticate_request
from web.photos.uploads import process_uploads
from web.vocabulary import CONFIDENTIAL, event_label

log = logging.getLogger("aduan.open311")

# Scopes every idempotency key to the API key that sent it: two clients cannot collide.
_PHOTO_FIELD = re.compile(r"(media|photo\d{1,2})")
UPDATES_WINDOW = timedelta(days=90)
UPDATES_CAP = 1000  # steps in one servicerequestupdates answer; the Link header points on

# Our lifecycle in FixMyStreet's extended statuses (Open311.pm map_state reads these).
FMS_STATUS = {
    "received": "open",
    "verified": "investigating",
    "dispatched": "action_scheduled",
    "in_progress": "in_progress",
    "resolved": "fixed",
    "closed": "closed",
    "rejected": "no_further_action",
    "duplicate": "duplicate",
    "returned": "investigating",
    "reopened": "open",
}

# Our field names in Open311's words, for error descriptions.
_OPEN311_FIELD = {
    "category": "service_code",
    "description": "description",
    "title": "description",
    "location": "lat/long",
    "kelurahan": "address_id",
    "address": "address_string",
    "photos": "media",
    "reporter_name": "first_name/last_name",
    "reporter_contact": "email/phone",
    "attribute": "attribute",
    "__all__": "request",
}


# --- Rendering ----------------------------------------------------------------------------------
def _fmt_of(path: str) -> str:
    return "xml" if path.endswith(".xml") else "json"


def _render(fmt: str, root: str, rows: list[dict], status: int = 200, headers=None) -> Response:
    # The rows hold text already (times formatted in the city's zone), so the zone here is moot.
    # FixMyStreet reads the updates' JSON under its root name; every other list is bare.
    payload: Any = {root: rows} if fmt == "json" and root == "service_request_updates" else rows
    return render(payload, fmt, root=root, tz=UTC, status_code=status, headers=headers)


def _errors(fmt: str, status: int, messages: Iterable[str], headers=None) -> Response:
    rows = [{"code": status, "description": message} for message in messages]
    return _render(fmt, "errors", rows, status, headers)


def _refused(fmt: str, exc: KeyRefused) -> Response:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return _errors(fmt, exc.status, [exc.message], headers)


def _iso(value: datetime | None, city: City) -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(city.timezone)).isoformat(timespec="seconds")


# --- Reading the request ------------------------------------------------------------------------


def _title_from(description: str, fallback: str) -> str:
    """Open311 has no title: the first line of the description, cut at a word, else the category."""
    first = " ".join(description.strip().splitlines()[0].split()) if description.strip() else ""
    if len(first) > TITLE_MAX:
        first = first[: TITLE_MAX - 1].rsplit(" ", 1)[0] + "…"
    return first if len(first) >= TITLE_MIN else fallback


def _words(text: str) -> str:
    return " " + " ".join(re.findall(r"\w+", text.lower())) + " "


def _kelurahan_in(address: str, city: City) -> str:
    """A kelurahan named in a free-text address (the only place a text address tells us)."""
    words = _words(address)
    for kel in city.all_kelurahan():
        if _words(kel.name) in words:
            return kel.code
    return ""


def _attributes(form) -> dict[str, list[str]]:
    """``attribute[code]`` fields, code -> values (a multivaluelist answer repeats the field)."""
    answers: dict[str, list[str]] = {}
    for name, value in form.multi_items():
        match = re.fullmatch(r"attribute\[(.{1,60})\]", name)
        if match and isinstance(value, str):
            answers.setdefault(match.group(1), []).append(value)
    return answers


def client_key_of(secret: str, key_id: int, idempotency: str) -> str:
    """The ticket's idempotency UUID (also the Open311 token) for a client's Idempotency-Key.
    Keyed with the server's secret: the key's id and a guessable Idempotency-Key ("report-77")
    must not be enough to compute another client's token."""
    digest = hmac.new(secret.encode(), f"{key_id}:{idempotency}".encode(), hashlib.sha256)
    return str(uuid.UUID(bytes=digest.digest()[:16], version=4))


async def _draft_values(
    form, city: City, key_id: int, idempotency: str, privacy: str, secret: str
) -> tuple[dict, tuple[Question, ...]]:
    """The citizen form's values from the request, and the questions the category asks."""
    get = lambda name: str(form.get(name) or "").strip()  # noqa: E731
    answers = _attributes(form)
    slug = get("service_code")
    # A value PostgreSQL cannot take (NUL) is left to the form's own checks.
    category = (
        await Category.select(Category.name, Category.questions)
        .where(Category.slug == slug)
        .first()
        if slug and not text_errors({"category": slug})
        else None
    )
    # FixMyStreet's way to name the kelurahan: an attribute that is no question of ours.
    kelurahan = get("address_id") or (answers.get("kelurahan") or [""])[0]
    address = get("address_string")
    if not kelurahan and not get("lat") and address:
        kelurahan = _kelurahan_in(address, city)
    client_key = client_key_of(secret, key_id, idempotency) if idempotency else str(uuid.uuid4())
    description = get("description")
    values = {
        "client_key": client_key,
        "classification": "complaint",
        "category": slug,
        "title": _title_from(description, category["name"] if category else slug),
        "description": description,
        "latitude": get("lat"),
        "longitude": get("long"),
        "accuracy": "",
        "address": address,
        "kelurahan": kelurahan,
        "privacy": privacy,
    }
    return values, questions_from_json(category["questions"]) if category else ()


def _reporter(form) -> tuple[str, str, dict[str, str]]:
    get = lambda name: " ".join(str(form.get(name) or "").split())  # noqa: E731
    name = f"{get('first_name')} {get('last_name')}".strip()
    contact = get("phone") or get("email")
    errors = {}
    if len(name) > 120:
        errors["reporter_name"] = _("Nama pelapor terlalu panjang (paling banyak 120 huruf).")
    if len(contact) > 40:
        errors["reporter_contact"] = _("Kontak pelapor terlalu panjang (paling banyak 40 huruf).")
    return name, contact, errors


def _uploads(form) -> list[UploadFile]:
    return [
        value
        for name, value in form.multi_items()
        if _PHOTO_FIELD.fullmatch(name) and isinstance(value, UploadFile) and value.filename
    ]


def _error_lines(errors: dict[str, str]) -> list[str]:
    return [f"{_OPEN311_FIELD.get(field, field)}: {message}" for field, message in errors.items()]


# --- Routes -------------------------------------------------------------------------------------

_API_OPT = {"exclude_from_csrf": True}


@post(
    ["/requests.json", "/requests.xml"],
    name="open311:file",
    opt=_API_OPT,
    status_code=201,
)
async def file_request(request: Request) -> Response:
    svc = services(request)
    fmt = _fmt_of(request.url.path)
    form = await request.form()
    uploads = _uploads(form)
    ip = client_ip(request, svc.settings)
    try:
        token = form.get("api_key") or request.query_params.get("api_key") or ""
        key = await authenticate_key(str(token), FILE, ip=ip)
        idempotency = (
            request.headers.get("idempotency-key") or str(form.get("client_key") or "")
        ).strip()
        if len(idempotency) > 200:
            raise FormErrors.single("__all__", _("Kunci idempotensi terlalu panjang."))
        values, questions = await _draft_values(
            form, svc.city, key.id, idempotency, key.default_privacy, svc.settings.secret_key
        )
        name, contact, errors = _reporter(form)
        answers: list[Answer] = []
        try:
            answers = check_answers(questions, _attributes(form), tz=ZoneInfo(svc.city.timezone))
        except FormErrors as exc:
            errors.update({f"attribute[{code}]": m for code, m in exc.errors.items()})
        try:
            draft = parse_complaint_form(values, svc.city)
        except FormErrors as exc:
            raise FormErrors({**exc.errors, **errors}) from exc
        if errors:
            raise FormErrors(errors)
        existing = await service.find_by_client_key(draft.client_key)
        photos = [] if existing else await process_uploads(uploads, svc.settings)
        filed = await service.create_complaint(
            draft,
            citizen_id=None,
            photos=photos,
            storage=svc.storage,
            city=svc.city,
            channel="api",
            ip=ip,
            reporter_name=name,
            reporter_contact=contact,
            whatsapp_fallback=svc.settings.notify_whatsapp_fallback,
            attributes=answers_json(answers),
            api_key=service.ApiFiler(id=key.id, name=key.name, client_name=key.client_name),
        )
    except KeyRefused as exc:
        return _refused(fmt, exc)
    except FormErrors as exc:
        return _errors(fmt, 400, _error_lines(exc.errors))
    except service.ComplaintConflict:
        return _errors(fmt, 400, [_("Kunci idempotensi ini sudah dipakai laporan lain.")])
    except service.FilingUnavailable as exc:
        return _errors(fmt, 503, [exc.message], {"Retry-After": "30"})
    finally:
        for upload in uploads:
            await upload.close()
    row = {
        "service_request_id": filed.number,
        "token": str(draft.client_key),
        "service_notice": _("Laporan diterima dengan nomor %(number)s.", number=filed.number),
        "account_id": str(form.get("account_id") or ""),
    }
    return _render(fmt, "service_requests", [row], 201 if filed.created else 200)


@get("/tokens/{token:str}", name="open311:token", opt=_API_OPT)
async def token_status(request: Request, token: FromPath[str]) -> Response:
    fmt = "xml" if token.endswith(".xml") else "json"
    raw = token.removesuffix(".xml").removesuffix(".json")
    try:
        client_key = uuid.UUID(raw)
    except ValueError:
        client_key = None
    row = (
        await Complaint.select(Complaint.number)
        .where((Complaint.client_key == client_key) & (Complaint.channel == "api"))
        .first()
        if client_key
        else None
    )
    if row is None or not token.endswith((".xml", ".json")):
        return _errors(fmt, 404, [_("Token tidak dikenal.")])
    return _render(fmt, "service_requests", [{"service_request_id": row["number"], "token": raw}])


def _parse_date(raw: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@get(
    ["/servicerequestupdates.json", "/servicerequestupdates.xml"],
    name="open311:updates",
    opt=_API_OPT,
)
async def request_updates(request: Request) -> Response:
    """FixMyStreet's extension: public timeline steps between two dates, oldest first, at most
    UPDATES_CAP of them. When more remain, ``Link: <…>; rel="next"`` names the next answer: the
    same end, the last step's moment as ``start_date`` and its id as ``after_update_id`` (steps of
    that very moment with a higher id follow). A client that just polls on from its last
    ``updated_datetime`` gets the rest too: the start is inclusive, and a step seen twice has the
    same ``update_id``."""
    svc = services(request)
    fmt = _fmt_of(request.url.path)
    params = request.query_params
    try:
        key = await authenticate_request(request, READ)
    except KeyRefused as exc:
        return _refused(fmt, exc)
    now = svc.clock()
    start = _parse_date(params.get("start_date") or "") if params.get("start_date") else None
    end = _parse_date(params.get("end_date") or "") if params.get("end_date") else None
    if (params.get("start_date") and start is None) or (params.get("end_date") and end is None):
        return _errors(fmt, 400, [_("Tanggal harus dalam format ISO 8601.")])
    after_id = parse_int(params.get("after_update_id"), minimum=1, maximum=2**63 - 1)
    if params.get("after_update_id") and (after_id is None or start is None):
        return _errors(fmt, 400, [_("after_update_id harus angka, bersama start_date.")])
    end = end or now
    start = start or end - timedelta(days=1)
    if start > end or end - start > UPDATES_WINDOW:
        return _errors(fmt, 400, [_("Rentang tanggal tidak valid (paling lama %(n)s hari).", n=90)])
    rows, following = await updates_between(start, end, svc.city, key_id=key.id, after_id=after_id)
    headers = None
    if following is not None:
        query = {
            "start_date": following[0].isoformat(),
            "after_update_id": following[1],
            "end_date": end.isoformat(),
        }
        # The key is left out: the client adds its own, as on every request.
        headers = {"Link": f'<{request.url.path}?{urlencode(query)}>; rel="next"'}
    return _render(fmt, "service_request_updates", rows, headers=headers)


async def updates_between(
    start: datetime,
    end: datetime,
    city: City,
    *,
    key_id: int | None = None,
    after_id: int | None = None,
) -> tuple[list[dict], tuple[datetime, int] | None]:
    """Public steps only (internal notes never) of tickets that are not confidential, and of the
    confidential ones filed through ``key_id``: a back end such as FixMyStreet needs news of its
    own reports whatever privacy its key gives them (the steps carry no reporter identity).
    The earliest UPDATES_CAP steps in [start, end] (at ``start`` itself only those after step
    ``after_id``, when given), in (moment, id) order, and the (moment, id) of the last one when
    more remain.

    ``media_url`` stays empty: a proof photo is served to the reporter and staff only
    (/laporan/{number}/foto, /staf/foto), no photo of a ticket has a public URL.
    """
    visible: Combinable = TimelineEvent.complaint.privacy != CONFIDENTIAL
    if key_id is not None:
        visible |= TimelineEvent.complaint.api_key == key_id
    since: Combinable = TimelineEvent.created_at >= start
    if after_id is not None:
        since = (TimelineEvent.created_at > start) | (
            (TimelineEvent.created_at == start) & (TimelineEvent.id > after_id)
        )
    events = (
        await TimelineEvent.select(
            TimelineEvent.id,
            TimelineEvent.kind,
            TimelineEvent.to_status,
            TimelineEvent.note,
            TimelineEvent.created_at,
            TimelineEvent.complaint.number.as_alias("number"),
            TimelineEvent.complaint.status.as_alias("status"),
        )
        .where(
            (TimelineEvent.is_public == True) & since & (TimelineEvent.created_at <= end) & visible
        )
        .order_by(TimelineEvent.created_at, TimelineEvent.id)
        .limit(UPDATES_CAP + 1)
    )
    last = events[UPDATES_CAP - 1] if len(events) > UPDATES_CAP else None
    rows = [
        {
            "update_id": str(event["id"]),
            "service_request_id": event["number"],
            "status": FMS_STATUS.get(event["to_status"] or event["status"], "open"),
            "description": event["note"] or event_label(event["kind"]),
            "updated_datetime": _iso(event["created_at"], city),
            "media_url": "",
        }
        for event in events[:UPDATES_CAP]
    ]
    return rows, (last["created_at"], last["id"]) if last else None


# Registered under /open311/v2 by routes.py, beside the reading routes of the same paths (one
# route per path: Litestar refuses a second registration of requests.json).
HANDLERS = [file_request, token_status, request_updates]
