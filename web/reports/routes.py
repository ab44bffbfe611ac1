"""Report pages: leaders (/pimpinan/laporan + CSV, XLSX, print), the shift report, each OPD's
page, and the public transparency page. Figures come from figures.py, shift.py and public.py."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from babel.dates import format_date
from babel.numbers import format_decimal
from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.plugins.htmx import HTMXRequest, HTMXTemplate
from litestar.response import Response, Template

from web import i18n
from web.complaints.vocabulary import STATUSES, channel_label, status_label
from web.deps import city_tz, services
from web.http import row_id
from web.i18n import _
from web.inbox.queries import InboxFilters, list_tickets
from web.intake.service import CALL_KINDS, call_kind_label, parse_shift_starts
from web.reports import exports, public, shift
from web.reports.chart import trend_chart
from web.reports.daily import report_for_period
from web.reports.figures import SLOW_BELOW_PERCENT, one_opd, opd_choices
from web.reports.periods import PeriodError, parse_period, period_query
from web.staff.access import READERS, current_staff, staff_guard

STAFF = {"guards": [staff_guard]}
LEADERS = frozenset({"supervisor", "admin"})
OPD_REPORT_READERS = frozenset({"opd_staff", "supervisor", "admin"})
NO_STORE = {"Cache-Control": "private, no-store"}
OPD_REPORT_DAYS = 30


def decimal(value: float | None) -> str:
    """One decimal in the reader's locale (87,5 in Indonesian), "—" when there is no figure."""
    if value is None:
        return "—"
    return format_decimal(round(value, 1), format="#,##0.0", locale=i18n.get_locale())


def integer(value: int) -> str:
    return format_decimal(value, format="#,##0", locale=i18n.get_locale())


def _formatting() -> dict:
    return {
        "decimal": decimal,
        "integer": integer,
        "rounded": exports.rounded,
        "channel_label": channel_label,
        "call_kind_label": call_kind_label,
        "day_label": lambda d, fmt="d MMM yyyy": format_date(d, fmt, locale=i18n.get_locale()),
        "slow_below": integer(int(SLOW_BELOW_PERCENT)),
    }


def _params(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items() if isinstance(v, str)}


# --- Leaders' report -------------------------------------------------------------------------


async def _leaders_context(request: Request, *, print_mode: bool = False) -> tuple[dict, int]:
    params = _params(request)
    tz = city_tz(request)
    now = datetime.now(UTC)
    context = {
        "values": params,
        "errors": {},
        "staff": current_staff(request),
        "print_mode": print_mode,
        **_formatting(),
    }
    try:
        period = parse_period(params, now=now, tz=tz)
    except PeriodError as exc:
        context["errors"] = exc.errors
        return context, 400
    report = await report_for_period(period, tz=tz, now=now, live=params.get("langsung") == "1")
    chart = trend_chart(report.trend, lambda d: format_date(d, "d MMM", locale=i18n.get_locale()))
    context.update(
        {
            "period": period,
            "report": report,
            "chart": chart,
            "query": urlencode(period_query(period)),
            "values": {**period_query(period), **params},
            "opd_link": lambda row: (
                f"/opd/laporan?{urlencode({'opd': row.opd_id, **period_query(period)})}"
            ),
        }
    )
    return context, 200


@get("/pimpinan/laporan", name="reports:leaders", opt={"roles": LEADERS}, **STAFF)
async def leaders(request: Request) -> Template:
    context, status = await _leaders_context(request)
    return Template(
        template_name="reports/leaders.html", context=context, status_code=status, headers=NO_STORE
    )


@get("/pimpinan/laporan/cetak", name="reports:print", opt={"roles": LEADERS}, **STAFF)
async def leaders_print(request: Request) -> Template:
    context, status = await _leaders_context(request, print_mode=True)
    return Template(
        template_name="reports/leaders_print.html" if status == 200 else "reports/leaders.html",
        context=context,
        status_code=status,
        headers=NO_STORE,
    )


async def _export(request: Request, kind: str) -> Response | Template:
    context, status = await _leaders_context(request)
    if status != 200:
        return Template(
            template_name="error.html",
            context={"status": status, "message": " ".join(context["errors"].values())},
            status_code=status,
        )
    report, tz = context["report"], city_tz(request)
    city_name = services(request).city.name
    if kind == "csv":
        body = exports.to_csv(report, city_name=city_name, tz=tz)
        media_type = "text/csv"  # Litestar adds "; charset=utf-8"
    else:
        body = exports.to_xlsx(report, city_name=city_name, tz=tz)
        media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    name = exports.export_filename(report, kind)
    return Response(
        content=body,
        media_type=media_type,
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'},
    )


@get("/pimpinan/laporan.csv", name="reports:csv", opt={"roles": LEADERS}, **STAFF)
async def leaders_csv(request: Request) -> Response | Template:
    return await _export(request, "csv")


@get("/pimpinan/laporan.xlsx", name="reports:xlsx", opt={"roles": LEADERS}, **STAFF)
async def leaders_xlsx(request: Request) -> Response | Template:
    return await _export(request, "xlsx")


# --- Shift report ----------------------------------------------------------------------------


@get("/operator/laporan-shift", name="reports:shift", opt={"roles": READERS}, **STAFF)
async def shift_page(request: Request) -> Template:
    settings = services(request).settings
    tz, now = city_tz(request), datetime.now(UTC)
    starts = parse_shift_starts(settings.shift_starts)
    params = _params(request)
    context = {
        "values": params,
        "errors": {},
        "starts": [s.strftime("%H:%M") for s in starts],
        "kinds": CALL_KINDS,
        "staff": current_staff(request),
        **_formatting(),
    }
    try:
        start, end = shift.choose_shift(params, now=now, tz=tz, starts=starts)
    except PeriodError as exc:
        context["errors"] = exc.errors
        return Template(
            template_name="reports/shift.html", context=context, status_code=400, headers=NO_STORE
        )
    local_start = start.astimezone(tz)
    context["values"] = {
        "tanggal": local_start.date().isoformat(),
        "shift": local_start.strftime("%H:%M"),
    }
    context["report"] = await shift.shift_report(start, end, now=now)
    return Template(template_name="reports/shift.html", context=context, headers=NO_STORE)


# --- One OPD's page --------------------------------------------------------------------------


@get("/opd/laporan", name="reports:opd", opt={"roles": OPD_REPORT_READERS}, **STAFF)
async def opd_page(request: HTMXRequest) -> Template:
    member = current_staff(request)
    params = _params(request)
    tz, now = city_tz(request), datetime.now(UTC)
    opds = await opd_choices()
    # OPD staff always get their own OPD's page, whatever the address says.
    raw_opd = params.get("opd", "")
    opd_id = member.opd_id if member.role == "opd_staff" else row_id(raw_opd)
    if opd_id is None and member.role == "opd_staff":  # an account bound to no OPD sees nothing
        raise NotFoundException(_("OPD tidak ditemukan."))
    context: dict = {"values": params, "errors": {}, "staff": member, "opds": opds, **_formatting()}
    if opd_id is None:  # a supervisor without ?opd=: the list of OPDs to choose from
        return Template(template_name="reports/opd.html", context=context, headers=NO_STORE)
    opd = next((o for o in opds if o["id"] == opd_id), None)
    if opd is None:
        raise NotFoundException(_("OPD tidak ditemukan."))
    context["opd"] = opd
    overdue, next_cursor = await list_tickets(
        InboxFilters(sla="overdue", sort="sla", after=params.get("setelah", "")),
        tz=tz,
        opd_id=opd_id,
    )
    context.update(
        {
            "overdue": overdue,
            "next_cursor": next_cursor,
            "more_query": urlencode({**params, "setelah": next_cursor or ""}),
            "ticket_base": "/opd/tiket/" if member.role == "opd_staff" else "/operator/tiket/",
        }
    )
    if request.htmx and request.htmx.target == "overdue-more":
        return HTMXTemplate(
            template_name="reports/_overdue_rows.html", context=context, headers=NO_STORE
        )
    try:
        period = parse_period(params, now=now, tz=tz, default_days=OPD_REPORT_DAYS)
    except PeriodError as exc:
        context["errors"] = exc.errors
        return Template(
            template_name="reports/opd.html", context=context, status_code=400, headers=NO_STORE
        )
    context.update(
        {
            "period": period,
            "figures": await one_opd(period, opd_id, opd["short_name"]),
            "values": {**period_query(period), **params},
        }
    )
    return Template(template_name="reports/opd.html", context=context, headers=NO_STORE)


# --- Public transparency page ----------------------------------------------------------------


def _public_cache(request: Request) -> public.PublicCache:
    return request.app.state.setdefault(
        "public_report_cache",
        public.PublicCache(min_age_seconds=services(request).settings.public_refresh_seconds),
    )


@get("/transparansi", name="reports:public", skip_session=True)
async def public_page(request: HTMXRequest) -> Template:
    figures = await public.public_figures(
        _public_cache(request),
        stale_after_seconds=2 * services(request).settings.public_refresh_seconds,
    )
    after = row_id(request.query_params.get("setelah"))  # a bad cursor: the first page
    if after is not None:
        tickets, next_cursor = await public.public_tickets(after)
    else:
        tickets, next_cursor = figures.first_page, figures.next_cursor
    context = {
        "figures": figures,
        "tickets": tickets,
        "next_cursor": next_cursor,
        "status_order": STATUSES,
        "status_labels": {code: status_label(code) for code in public.LISTED_STATUSES},
        **_formatting(),
    }
    # No personal data and no session here. The service worker never stores this page (it is not
    # a shell page); browsers revalidate it, so a changed ticket shows on the next load.
    headers = {"Cache-Control": "no-cache", "Vary": "HX-Request, HX-Target"}
    if request.htmx and request.htmx.target == "public-more":
        return HTMXTemplate(
            template_name="reports/_public_rows.html", context=context, headers=headers
        )
    return Template(template_name="reports/public.html", context=context, headers=headers)


@get("/transparansi/peta.json", name="reports:public-map", skip_session=True)
async def public_map(request: Request) -> Response:
    figures = await public.public_figures(
        _public_cache(request),
        stale_after_seconds=2 * services(request).settings.public_refresh_seconds,
    )
    return Response(
        content=figures.map,
        media_type="application/geo+json",
        headers={"Cache-Control": "no-cache"},
    )


ROUTES = [
    leaders,
    leaders_print,
    leaders_csv,
    leaders_xlsx,
    shift_page,
    opd_page,
    public_page,
    public_map,
]
