"""Open311 GeoReport v2, reading: discovery, services, service definitions and public requests.

Every path ends in ``.json`` or ``.xml``; the answer's format follows it, errors included. No
session is read or written: the API is open data, the same for everyone.
"""

from __future__ import annotations

from collections.abc import Mapping

from litestar import Request, Router, get
from litestar.params import FromPath, FromQuery
from litestar.response import Response

from web.deps import city_tz, services
from web.i18n import _
from web.open311 import filing, reading
from web.open311.formats import Open311Error, render, render_error, split_suffix

BASE = "/open311/v2"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
DISCOVERY = BASE + "/discovery.json"
CHANGESET = "2026-11-30T00:00:00+07:00"  # when these endpoints last changed shape


def _fmt(request: Request) -> str:
    return request.url.path.rpartition(".")[2]


@get(["/discovery.json", "/discovery.xml"], name="open311:discovery", skip_session=True)
async def discovery(request: Request) -> Response:
    base = str(request.base_url).rstrip("/") + BASE
    city = services(request).city
    payload = {  # contact and key_service are human-readable text (Service_Discovery.md)
        "changeset": CHANGESET,
        "contact": "; ".join((city.name, *city.contact)),
        "key_service": f"API keys are issued by the administrators of Aduan, {city.name}.",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base,
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render(payload, _fmt(request), root="discovery", tz=city_tz(request))


@get(["/services.json", "/services.xml"], name="open311:services", skip_session=True)
async def service_list(request: Request) -> Response:
    payload = await reading.service_list()
    return render(payload, _fmt(request), root="services", tz=city_tz(request))


def _suffixed(name: str) -> tuple[str, str]:
    found = split_suffix(name)
    if found is None:
        raise Open311Error(404, _("Alamat tidak dikenal: tambahkan .json atau .xml."))
    return found


@get("/services/{service_file:str}", name="open311:service", skip_session=True)
async def service_definition(request: Request, service_file: FromPath[str]) -> Response:
    code, fmt = _suffixed(service_file)
    payload = await reading.service_definition(code)
    if payload is None:
        raise Open311Error(404, _("service_code “%(code)s” tidak ditemukan.", code=code[:80]), fmt)
    return render(payload, fmt, root="service_definition", tz=city_tz(request))


@get(["/requests.json", "/requests.xml"], name="open311:requests", skip_session=True)
async def request_list(
    request: Request,
    service_request_id: FromQuery[str | None] = None,
    service_code: FromQuery[str | None] = None,
    status: FromQuery[str | None] = None,
    start_date: FromQuery[str | None] = None,
    end_date: FromQuery[str | None] = None,
    page: FromQuery[str | None] = None,
    page_size: FromQuery[str | None] = None,
    bbox: FromQuery[str | None] = None,
) -> Response:
    # Named here (as plain text, checked by reading) so route walks send them hostile values.
    params = {k: v for k, v in locals().items() if k != "request" and v is not None}
    fmt = _fmt(request)
    try:
        query = reading.parse_request_query(params, services(request).clock())
    except reading.ParamError as error:
        raise Open311Error(400, str(error), fmt) from None
    payload = await reading.request_list(query)
    return render(payload, fmt, root="service_requests", tz=city_tz(request))


@get("/requests/{request_file:str}", name="open311:request", skip_session=True)
async def one_request(request: Request, request_file: FromPath[str]) -> Response:
    number, fmt = _suffixed(request_file)
    payload = await reading.one_request(number)
    if payload is None:
        raise Open311Error(
            404, _("service_request_id “%(number)s” tidak ditemukan.", number=number[:80]), fmt
        )
    return render([payload], fmt, root="service_requests", tz=city_tz(request))


def _error(request: Request, error: Open311Error) -> Response:
    return render_error(error, city_tz(request))


def is_api_path(path: str) -> bool:
    """Everything under /open311/ answers in the spec's format, errors included."""
    return path == "/open311" or path.startswith("/open311/")


def api_error(
    request: Request, status: int, description: str, headers: Mapping[str, str] | None = None
) -> Response:
    """What the app's own error handlers answer under /open311/: an unknown path, a method the
    path does not take (with ``Allow``), a body too large, a server error. The format follows the
    path's suffix (JSON for any other), as the spec's clients read it."""
    fmt = "xml" if request.url.path.endswith(".xml") else "json"
    if status == 404:
        description = _("Alamat API tidak dikenal. Daftar alamat: %(url)s", url=DISCOVERY)
    elif status == 405:
        allowed = ", ".join(
            sorted(m for m in (headers or {}).get("allow", "").replace(" ", "").split(",") if m)
        )
        description = _(
            "Metode %(method)s tidak didukung di alamat ini (yang didukung: %(allowed)s).",
            method=request.method,
            allowed=allowed,
        )
    error = Open311Error(status, description, fmt)
    response = render_error(error, city_tz(request))
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


ROUTES = [
    Router(
        path=BASE,
        route_handlers=[
            discovery,
            service_list,
            service_definition,
            request_list,
            one_request,
            *filing.HANDLERS,
        ],
        exception_handlers={Open311Error: _error},
    )
]
