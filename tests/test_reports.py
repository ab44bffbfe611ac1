"""Reports: every figure against a direct SQL count over a generated dataset (SQLite and
PostgreSQL, whichever this run uses), the pages, the exports, the stored daily report."""

from __future__ import annotations

import csv
import io
import itertools
import statistics
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from db.tables import Complaint, DailyReport, Opd
from tests.conftest import TEST_DB
from tests.helpers import db, soup
from tests.html import field_error
from tests.query_counter import count_queries
from tests.report_data import make_dataset
from tests.staff_helpers import make_staff, staff_sign_in
from web.notifications.rules import report_url
from web.reports.daily import generate_daily_report, stored_report
from web.reports.figures import leaders_report
from web.reports.periods import make_period
from web.vocabulary import CHANNELS

TZ = ZoneInfo("Asia/Jakarta")
DONE = "('resolved', 'closed')"
WITH_OPD = "('dispatched', 'in_progress')"


def signed_in(make_client, role, opd_slug=None):
    client = make_client()
    make_staff(client, role, opd_slug=opd_slug)
    staff_sign_in(client, f"{role}-{opd_slug or 'kota'}")
    return client


def report_period(now: datetime, days: int = 10, ends_days_ago: int = 2):
    last = now.astimezone(TZ).date() - timedelta(days=ends_days_ago)
    return make_period(last - timedelta(days=days - 1), last, now=now, tz=TZ)


# --- The figures, checked one by one against SQL written here -----------------------------


async def scalar(sql: str, *args) -> int:
    rows = await Complaint.raw(sql, *args)
    return int(next(iter(rows[0].values())) or 0)


def hours_between(later: str, earlier: str) -> str:
    """SQL for (later - earlier) in hours, on this run's engine."""
    if TEST_DB == "postgres":
        return f"EXTRACT(EPOCH FROM ({later} - {earlier})) / 3600.0"
    return f"(julianday({later}) - julianday({earlier})) * 24.0"


async def expected_opd(opd_id: int | None, period) -> dict:
    """Every per-OPD figure from plain SQL (opd_id None: the whole city)."""
    scope = "sla_started_at >= {} AND sla_started_at < {} AND opd IS NOT NULL"
    args = [period.start, period.end]
    if opd_id is not None:
        scope += " AND opd = {}"
        args.append(opd_id)

    async def count(extra: str = "", *more) -> int:
        return await scalar(f"SELECT count(*) FROM complaint WHERE {scope} {extra}", *args, *more)

    figures = {
        "received": await count(),
        "done": await count(f"AND status IN {DONE}"),
        "in_process": await count("AND status = 'in_progress'"),
        "not_followed_up": await count("AND status = 'dispatched'"),
        "overdue_in_period": await count(
            f"AND status IN {WITH_OPD} AND sla_due_at < {{}}", period.as_of
        ),
        # The backlog: every open ticket of the OPD past due, whenever it was dispatched.
        "overdue": await scalar(
            f"SELECT count(*) FROM complaint WHERE status IN {WITH_OPD} AND sla_due_at < {{}} "
            "AND opd IS NOT NULL" + (" AND opd = {}" if opd_id is not None else ""),
            period.as_of,
            *([opd_id] if opd_id is not None else []),
        ),
        "done_on_time": await count(f"AND status IN {DONE} AND resolved_at <= sla_due_at"),
    }
    first = await Complaint.raw(
        f"SELECT {hours_between('first_response_at', 'sla_started_at')} AS h FROM complaint "
        f"WHERE {scope} AND first_response_at IS NOT NULL AND first_response_at >= sla_started_at",
        *args,
    )
    resolution = await Complaint.raw(
        f"SELECT {hours_between('resolved_at', 'sla_started_at')} AS h FROM complaint "
        f"WHERE {scope} AND status IN {DONE} AND resolved_at >= sla_started_at",
        *args,
    )
    figures["median_first_response_hours"] = (
        statistics.median(float(r["h"]) for r in first) if first else None
    )
    figures["median_resolution_hours"] = (
        statistics.median(float(r["h"]) for r in resolution) if resolution else None
    )
    denominator = figures["done"] + figures["overdue_in_period"]
    figures["compliance"] = 100.0 * figures["done_on_time"] / denominator if denominator else None
    return figures


async def expected_city(period) -> dict:
    created = "created_at >= {} AND created_at < {}"
    args = [period.start, period.end]
    city = {
        "created": await scalar(f"SELECT count(*) FROM complaint WHERE {created}", *args),
        "unverified": await scalar(
            f"SELECT count(*) FROM complaint WHERE {created} AND status = 'received'", *args
        ),
        "rejected": await scalar(
            f"SELECT count(*) FROM complaint WHERE {created} AND status = 'rejected'", *args
        ),
        "duplicates": await scalar(
            f"SELECT count(*) FROM complaint WHERE {created} AND status = 'duplicate'", *args
        ),
    }
    channels = {}
    for channel in CHANNELS:  # every channel the report counts, API filings included
        channels[channel] = await scalar(
            f"SELECT count(*) FROM complaint WHERE {created} AND channel = {{}}", *args, channel
        )
    calls = {}
    for kind in ("normal", "informative", "prank"):
        calls[kind] = await scalar(
            "SELECT count(*) FROM call_log WHERE created_at >= {} AND created_at < {} AND kind = {}",
            *args,
            kind,
        )
    trend = {}
    for offset in range(30):
        day = period.last_day - timedelta(days=29 - offset)
        start = make_period(day, day, now=period.end, tz=TZ)
        trend[day] = (
            await scalar(
                "SELECT count(*) FROM complaint WHERE created_at >= {} AND created_at < {}",
                start.start,
                start.end,
            ),
            await scalar(
                "SELECT count(*) FROM complaint WHERE resolved_at >= {} AND resolved_at < {}",
                start.start,
                start.end,
            ),
        )
    return {"city": city, "channels": channels, "calls": calls, "trend": trend}


def close(a: float | None, b: float | None, tolerance: float = 1e-3) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= tolerance


@pytest.fixture
def dataset(make_client):
    """A supervisor's client, the period, and the generated tickets."""
    supervisor = signed_in(make_client, "supervisor")
    now = datetime.now(UTC)
    period = report_period(now)
    data = db(
        supervisor,
        lambda: make_dataset(seed=7, start=period.start, end=period.end, now=now),
    )
    return {"client": supervisor, "now": now, "period": period, "data": data}


@pytest.mark.clock
def test_every_figure_matches_sql(dataset):
    client, period = dataset["client"], dataset["period"]
    report = db(client, lambda: leaders_report(period, tz=TZ, now=dataset["now"]))

    checked_with_tickets = 0
    for row in report.opds:
        expected = db(client, lambda row=row: expected_opd(row.opd_id, period))
        for name in ("received", "done", "in_process", "not_followed_up", "overdue"):
            assert getattr(row, name) == expected[name], (row.name, name)
        assert row.overdue_in_period == expected["overdue_in_period"], row.name
        assert row.done_on_time == expected["done_on_time"], row.name
        assert close(row.compliance, expected["compliance"]), row.name
        assert close(row.median_first_response_hours, expected["median_first_response_hours"])
        assert close(row.median_resolution_hours, expected["median_resolution_hours"])
        assert row.slow == (row.overdue > 0 or (row.compliance is not None and row.compliance < 80))
        checked_with_tickets += row.received > 0
    assert checked_with_tickets >= 10, "the dataset should spread over many OPDs"

    total = db(client, lambda: expected_opd(None, period))
    for name in (
        "received",
        "done",
        "in_process",
        "not_followed_up",
        "overdue",
        "overdue_in_period",
        "done_on_time",
    ):
        assert getattr(report.total, name) == total[name], name
    assert close(report.total.median_first_response_hours, total["median_first_response_hours"])
    assert close(report.total.median_resolution_hours, total["median_resolution_hours"])
    # The dataset exercises what the definitions are about.
    assert total["overdue"] > total["overdue_in_period"] > 0
    assert total["done"] > total["done_on_time"] > 0
    assert total["in_process"] > 0 and total["not_followed_up"] > 0

    city = db(client, lambda: expected_city(period))
    assert vars(report.city) == city["city"]
    assert report.channels == city["channels"]
    assert report.calls == city["calls"]
    assert {d.day: (d.created, d.resolved) for d in report.trend} == city["trend"]
    assert len(report.trend) == 30 and report.trend[-1].day == period.last_day
    assert sum(d.created for d in report.trend) > 0 and sum(d.resolved for d in report.trend) > 0

    # Ranking: compliance desc, then first response asc; no compliance after; no tickets last.
    with_tickets = [r for r in report.opds if r.received]
    assert [r.rank for r in with_tickets] == list(range(1, len(with_tickets) + 1))
    assert all(r.rank is None for r in report.opds[len(with_tickets) :])
    assert all(r.received == 0 for r in report.opds[len(with_tickets) :])
    keyed = [r for r in with_tickets if r.compliance is not None]
    assert with_tickets[: len(keyed)] == keyed
    for a, b in itertools.pairwise(keyed):
        assert a.compliance >= b.compliance
        if a.compliance == b.compliance and b.median_first_response_hours is not None:
            assert (a.median_first_response_hours or 0) <= b.median_first_response_hours


def page_figures(page) -> dict:
    """``{opd id: {figure: data-value}}`` from the report page's table."""
    rows = {}
    for tr in page.select("#opd-table tr[data-opd-id]"):
        rows[tr["data-opd-id"]] = {
            td["data-figure"]: td.get("data-value", td.get_text(strip=True))
            for td in tr.select("td[data-figure]")
        }
    return rows


def as_number(text: str) -> float | None:
    return None if text in ("", "—") else float(text.replace(",", "."))


def test_page_and_exports_show_the_same_figures(dataset):
    client, period = dataset["client"], dataset["period"]
    query = f"dari={period.first_day}&sampai={period.last_day}"
    response = client.get(f"/pimpinan/laporan?{query}")
    assert response.status_code == 200
    page = soup(response)
    table = page_figures(page)
    assert page.select_one("#report-source")["data-source"] == "live"
    # Slow OPDs are marked in words, not only in colour.
    for tr in page.select("#opd-table tbody tr.slow"):
        assert tr.select_one(".badge-slow")

    for opd_id, figures in table.items():
        expected = db(
            client, lambda o=opd_id: expected_opd(None if o == "total" else int(o), period)
        )
        for name in ("received", "done", "in_process", "not_followed_up", "overdue"):
            assert int(figures[name]) == expected[name], (opd_id, name)
        for name in ("compliance", "median_first_response_hours", "median_resolution_hours"):
            value = expected[name]
            assert close(
                as_number(figures[name]), None if value is None else round(value, 1), 0.051
            )

    city = db(client, lambda: expected_city(period))
    for name, value in city["city"].items():
        assert int(page.select_one(f"[data-figure={name}]")["data-value"]) == value
    for code, n in city["channels"].items():
        assert int(page.select_one(f"td[data-channel='{code}']")["data-value"]) == n
    for kind, n in city["calls"].items():
        assert int(page.select_one(f"td[data-call-kind='{kind}']")["data-value"]) == n
    for day, (created, resolved) in city["trend"].items():
        tr = page.select_one(f"#trend-table tr[data-day='{day.isoformat()}']")
        assert int(tr.select_one("[data-series=created]").get_text()) == created
        assert int(tr.select_one("[data-series=resolved]").get_text()) == resolved

    # The chart: an accessible SVG with a bar per day and series.
    svg = page.select_one("#trend svg")
    assert svg["role"] == "img" and svg.select_one("title") and svg.select_one("desc")
    assert len(svg.select("rect.bar")) == 60

    ordered_page = [tr["data-opd-id"] for tr in page.select("#opd-table tbody tr")]

    # CSV: BOM, semicolons, decimal commas; same rows in the same order.
    exported = client.get(f"/pimpinan/laporan.csv?{query}")
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in exported.headers["content-disposition"]
    assert exported.content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig")), delimiter=";"))
    header_at = lines.index(next(line for line in lines if line[:2] == ["Peringkat", "OPD"]))
    header = lines[header_at]
    csv_rows = lines[header_at + 1 : header_at + 1 + len(ordered_page) + 1]
    names = {
        tr["data-opd-id"]: tr.select_one("th").get_text(" ", strip=True)
        for tr in page.select("#opd-table tr[data-opd-id]")
    }
    columns = {
        "received": "Diterima",
        "done": "Selesai",
        "in_process": "Dalam proses",
        "not_followed_up": "Belum ditindaklanjuti",
        "overdue": "Terlambat",
        "compliance": "Kepatuhan SLA (%)",
        "median_first_response_hours": "Median respons pertama (jam)",
        "median_resolution_hours": "Median penyelesaian (jam)",
    }
    for opd_id, line in zip([*ordered_page, "total"], csv_rows, strict=True):
        assert names[opd_id].startswith(line[1])
        for figure, title in columns.items():
            assert as_number(line[header.index(title)]) == as_number(table[opd_id][figure]), (
                opd_id,
                figure,
            )
    flat = {line[0]: line[1:] for line in lines if line}
    assert int(flat["Laporan masuk"][0]) == city["city"]["created"]
    assert int(flat["Iseng / prank"][0]) == city["calls"]["prank"]

    # XLSX: the same, with real numbers in the cells.
    exported = client.get(f"/pimpinan/laporan.xlsx?{query}")
    assert exported.status_code == 200
    workbook = load_workbook(io.BytesIO(exported.content))
    sheet = workbook["Per OPD"]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    for opd_id, line in zip([*ordered_page, "total"], rows[1:], strict=True):
        for figure, title in columns.items():
            cell = line[header.index(title)]
            assert (None if cell == "—" else cell) == as_number(table[opd_id][figure])
    assert isinstance(rows[1][header.index("Diterima")], int)
    trend = {
        r[0]: (r[1], r[2]) for r in list(workbook["Tren 30 hari"].iter_rows(values_only=True))[1:]
    }
    assert trend == {d.isoformat(): v for d, v in city["trend"].items()}
    calls = dict(list(workbook["Call Center 112"].iter_rows(values_only=True))[1:])
    assert calls["Normal"] == city["calls"]["normal"]

    printed = client.get(f"/pimpinan/laporan/cetak?{query}")
    assert printed.status_code == 200
    assert page_figures(soup(printed)) == table
    assert not soup(printed).select("nav")


def test_daily_report_is_stored_and_shown_with_its_time(dataset):
    client, now = dataset["client"], dataset["now"]
    day = dataset["period"].last_day
    first = db(client, lambda: generate_daily_report(day, now=now, tz=TZ))
    again = db(client, lambda: generate_daily_report(day, now=now + timedelta(minutes=1), tz=TZ))
    assert first == again
    assert db(client, lambda: DailyReport.count()) == 1

    stored = soup(client.get(f"/pimpinan/laporan?tanggal={day}"))
    assert stored.select_one("#report-source")["data-source"] == "stored"
    local = (now + timedelta(minutes=1)).astimezone(TZ)
    assert local.strftime("%H.%M") in stored.select_one("#report-source").get_text()
    before = page_figures(stored)

    # The stored figures, and the link the "report ready" notification carries.
    stored_figures = db(client, lambda: stored_report(day))
    assert stored_figures.generated_at is not None
    assert report_url(day) == f"/pimpinan/laporan?tanggal={day}"

    # Figures are frozen: a change after generation shows only in the live view.
    async def resolve_all_open():
        await Complaint.update(
            {Complaint.status: "closed", Complaint.resolved_at: now, Complaint.closed_at: now}
        ).where(Complaint.status.is_in(["dispatched", "in_progress"]))

    db(client, resolve_all_open)
    assert page_figures(soup(client.get(f"/pimpinan/laporan?tanggal={day}"))) == before
    live = soup(client.get(f"/pimpinan/laporan?tanggal={day}&langsung=1"))
    assert live.select_one("#report-source")["data-source"] == "live"
    assert page_figures(live)["total"]["in_process"] == "0"

    # Without ?tanggal the page is yesterday's.
    default = soup(client.get("/pimpinan/laporan"))
    yesterday = now.astimezone(TZ).date() - timedelta(days=1)
    assert default.select_one("#tanggal")["value"] == yesterday.isoformat()


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("tanggal=2026-13-45", "tanggal", "Tanggal tidak valid"),
        ("tanggal=kemarin", "tanggal", "Tanggal tidak valid"),
        ("dari=2026-11-10&sampai=2026-11-01", "dari", "tidak boleh sesudah"),
        ("dari=2024-01-01&sampai=2025-06-01", "sampai", "paling panjang 366 hari"),
        ("tanggal=2999-01-01", "tanggal", "sesudah hari ini"),
        ("tanggal=0001-01-01", "tanggal", "sejak tahun 2000"),
    ],
)
def test_bad_dates_get_a_clear_message_and_keep_the_input(make_client, query, field, words):
    client = signed_in(make_client, "supervisor")
    response = client.get(f"/pimpinan/laporan?{query}")
    assert response.status_code == 400
    page = soup(response)
    assert words in page.select_one(f"#{field}-error").get_text()
    assert page.select_one(f"#{field}")["aria-invalid"] == "true"
    for part in query.split("&"):
        name, value = part.split("=")
        assert page.select_one(f"#{name}")["value"] == value
    assert not page.select("#opd-table")
    assert client.get(f"/pimpinan/laporan.csv?{query}").status_code == 400


def test_report_page_runs_a_fixed_number_of_queries(make_client):
    client = signed_in(make_client, "supervisor")
    now = datetime.now(UTC)
    period = report_period(now)
    url = f"/pimpinan/laporan?dari={period.first_day}&sampai={period.last_day}"

    def queries() -> int:
        with count_queries() as seen:
            assert client.get(url).status_code == 200
        return len(seen)

    pupr = db(client, lambda: Opd.select(Opd.id).where(Opd.slug == "pupr").first())["id"]
    dates = f"dari={period.first_day}&sampai={period.last_day}"
    pages = [
        url,
        f"/pimpinan/laporan/cetak?{dates}",
        f"/opd/laporan?opd={pupr}&{dates}",
        "/operator/laporan-shift",
        "/transparansi",  # recomputed after each data change below
    ]

    def all_counts() -> list[int]:
        counts = []
        for page in pages:
            with count_queries() as seen:
                assert client.get(page).status_code == 200, page
            counts.append(len(seen))
        return counts

    db(
        client,
        lambda: make_dataset(
            seed=1,
            start=period.start,
            end=period.end,
            now=now,
            tickets=6,
            calls=2,
            opd_count=2,
            prefix="FEW",
        ),
    )
    few = queries()
    few_pages = all_counts()
    db(
        client,
        lambda: make_dataset(
            seed=2,
            start=period.start,
            end=period.end,
            now=now,
            tickets=400,
            calls=50,
            opd_count=18,
            prefix="MANY",
        ),
    )
    many = queries()
    assert few == many, (few, many)
    assert many <= 12
    assert all_counts() == few_pages


def test_opd_head_sees_their_own_figures_and_overdue_list(make_client):
    head = signed_in(make_client, "opd_staff", opd_slug="pupr")
    now = datetime.now(UTC)
    period = report_period(now, days=30, ends_days_ago=1)
    pupr = db(head, lambda: Opd.select(Opd.id).where(Opd.slug == "pupr").first())["id"]
    db(
        head,
        lambda: make_dataset(seed=3, start=period.start, end=period.end, now=now, opd_count=20),
    )

    # Many overdue tickets of their own, so the list pages.
    async def overdue_tickets():
        await Complaint.update(
            {Complaint.opd: pupr, Complaint.sla_due_at: Complaint.created_at}
        ).where(Complaint.status.is_in(["dispatched", "in_progress"]))

    db(head, overdue_tickets)
    response = head.get(f"/opd/laporan?opd=999&dari={period.first_day}&sampai={period.last_day}")
    assert response.status_code == 200
    page = soup(response)
    assert "PUPR" in page.select_one("h1").get_text()  # ?opd= is ignored for OPD staff
    expected = db(head, lambda: expected_opd(pupr, period))
    for name in ("received", "done", "in_process", "not_followed_up", "overdue"):
        assert (
            int(page.select_one(f"#opd-figures [data-figure={name}]")["data-value"])
            == expected[name]
        )

    listed, seen_pages = [], 0
    url = f"/opd/laporan?dari={period.first_day}&sampai={period.last_day}"
    while url and seen_pages < 20:
        page = soup(head.get(url))
        listed += [td["data-due"] for td in page.select("#overdue td[data-due]")]
        more = page.select_one("#overdue-more a")
        url = more["href"] if more else None
        seen_pages += 1
    total_overdue = db(
        head,
        lambda: scalar(
            "SELECT count(*) FROM complaint WHERE opd = {} AND status IN "
            f"{WITH_OPD} AND sla_due_at < {{}}",
            pupr,
            datetime.now(UTC),
        ),
    )
    assert len(listed) == total_overdue > 25
    assert listed == sorted(listed)

    supervisor = signed_in(make_client, "supervisor")
    chooser = soup(supervisor.get("/opd/laporan"))
    assert chooser.select(f"a[href='/opd/laporan?opd={pupr}']")
    assert supervisor.get(f"/opd/laporan?opd={pupr}").status_code == 200
    assert supervisor.get("/opd/laporan?opd=999999").status_code == 404


@pytest.mark.clock
def test_generate_daily_report_runs_inside_the_callers_transaction(make_client):
    client = signed_in(make_client, "supervisor")
    now = datetime.now(UTC)
    day = now.astimezone(TZ).date() - timedelta(days=1)

    async def in_transaction():
        from db.engine import write_transaction

        async with write_transaction():
            return await generate_daily_report(day, now=now, tz=TZ)

    report_id = db(client, in_transaction)
    row = db(client, lambda: DailyReport.select().where(DailyReport.id == report_id).first())
    assert row["day"] == day and '"first_day"' in row["figures"]


def test_periods_parse_days_and_ranges():
    from web.reports.periods import PeriodError, parse_period

    now = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 08:00 in Jakarta
    yesterday = parse_period({}, now=now, tz=TZ)
    assert (yesterday.first_day, yesterday.last_day) == (date(2026, 11, 23), date(2026, 11, 23))
    assert yesterday.start == datetime(2026, 11, 22, 17, 0, tzinfo=UTC)
    assert yesterday.as_of == yesterday.end
    today = parse_period({"tanggal": "2026-11-24"}, now=now, tz=TZ)
    assert today.as_of == now
    one_side = parse_period({"dari": "2026-11-01"}, now=now, tz=TZ)
    assert one_side.first_day == one_side.last_day == date(2026, 11, 1)
    longest = parse_period({"dari": "2025-11-24", "sampai": "2026-11-24"}, now=now, tz=TZ)
    assert longest.days == 366
    with pytest.raises(PeriodError):
        parse_period({"dari": "2025-11-23", "sampai": "2026-11-24"}, now=now, tz=TZ)


# --- Shift report --------------------------------------------------------------------------


@pytest.mark.clock
def test_shift_report_counts_what_each_operator_did(make_client):
    from db.tables import CallLog, StaffUser, TimelineEvent
    from tests.factories import complaint_form
    from tests.helpers import post_form
    from web.workflow.service import Actor, act

    now = datetime.now(UTC)
    local = now.astimezone(TZ)
    # The current shift began an hour ago, whatever time the suite runs.
    starts = f"{(local - timedelta(hours=1)):%H:%M},{(local + timedelta(hours=8)):%H:%M}"
    first = make_client(shift_starts=starts)
    make_staff(first, "operator", username="op-pagi")
    staff_sign_in(first, "op-pagi")
    second = make_client(shift_starts=starts)
    make_staff(second, "operator", username="op-siang")
    staff_sign_in(second, "op-siang")
    ids = {
        row["username"]: row["id"]
        for row in db(first, lambda: StaffUser.select(StaffUser.id, StaffUser.username))
    }
    pupr = db(first, lambda: Opd.select(Opd.id).where(Opd.slug == "pupr").first())["id"]

    numbers = []
    for client, channel in ((first, "phone"), (first, "walk_in"), (second, "lapor")):
        filed = post_form(
            client, "/operator/baru", complaint_form(channel=channel, reporter_name="Bu Ani")
        )
        numbers.append(filed.url.path.rsplit("/", 1)[1])
    for client, kind in (
        (first, "normal"),
        (first, "prank"),
        (second, "prank"),
        (second, "informative"),
    ):
        post_form(client, "/operator/112", {"kind": kind})

    async def work():
        pagi = Actor(kind="staff", id=ids["op-pagi"], role="operator")
        siang = Actor(kind="staff", id=ids["op-siang"], role="operator")
        await act(numbers[0], "verify", pagi, expected_version=1)
        await act(numbers[0], "dispatch", pagi, expected_version=2, opd_id=pupr)
        await act(
            numbers[1], "reject", siang, expected_version=1, note="iseng", reason_code="prank"
        )
        await act(
            numbers[2], "mark_duplicate", siang, expected_version=1, duplicate_of_number=numbers[0]
        )
        # Before this shift: must not count.
        earlier = now - timedelta(hours=3)
        await TimelineEvent.insert(
            TimelineEvent(
                complaint=(await Complaint.select(Complaint.id).first())["id"],
                kind="verify",
                actor_kind="staff",
                actor_staff=ids["op-pagi"],
                created_at=earlier,
            )
        )
        await CallLog.insert(CallLog(kind="normal", operator=ids["op-pagi"], created_at=earlier))

    db(first, work)
    page = soup(first.get("/operator/laporan-shift"))
    assert "masih berjalan" in page.select_one("#shift-window").get_text()
    totals = {
        dd["data-figure"]: int(dd.get_text()) for dd in page.select("#shift-totals dd[data-figure]")
    }
    shift_start = (local - timedelta(hours=1)).replace(second=0, microsecond=0)

    async def expected():
        async def count(table, extra, *args):
            return await scalar(
                f"SELECT count(*) FROM {table} WHERE created_at >= {{}} {extra}", shift_start, *args
            )

        return {
            "arrived": await count("complaint", ""),
            "verified": await count("timeline_event", "AND kind = 'verify'"),
            "dispatched": await count("timeline_event", "AND kind = 'dispatch'"),
            "rejected": await count("timeline_event", "AND kind = 'reject'"),
            "duplicates": await count("timeline_event", "AND kind = 'mark_duplicate'"),
            "calls": {
                k: await count("call_log", "AND kind = {}", k)
                for k in ("normal", "informative", "prank")
            },
        }

    sql = db(first, expected)
    assert totals == {k: v for k, v in sql.items() if k != "calls"}
    assert totals == {"arrived": 3, "verified": 1, "dispatched": 1, "rejected": 1, "duplicates": 1}
    calls = {
        dd["data-call-kind"]: int(dd.get_text())
        for dd in page.select("#shift-totals dd[data-call-kind]")
    }
    assert calls == sql["calls"] == {"normal": 1, "informative": 1, "prank": 2}
    channels = {dd["data-channel"]: int(dd.get_text()) for dd in page.select("dd[data-channel]")}
    assert channels["phone"] == channels["walk_in"] == channels["lapor"] == 1

    per_operator = {
        tr["data-staff-id"]: {
            td.get("data-figure") or td["data-call-kind"]: int(td.get_text())
            for td in tr.select("td")
        }
        for tr in page.select("#shift-operators tbody tr")
    }
    assert per_operator[str(ids["op-pagi"])] == {
        "filed": 2,
        "verified": 1,
        "dispatched": 1,
        "rejected": 0,
        "duplicates": 0,
        "normal": 1,
        "informative": 0,
        "prank": 1,
    }
    assert per_operator[str(ids["op-siang"])] == {
        "filed": 1,
        "verified": 0,
        "dispatched": 0,
        "rejected": 1,
        "duplicates": 1,
        "normal": 0,
        "informative": 1,
        "prank": 1,
    }

    # An earlier shift by date and start; wrong choices get a message and keep the input.
    # A shift is named by the day it began: the current one may have begun yesterday (23:30).
    earlier_day = (local - timedelta(hours=1) - timedelta(days=1)).date()
    first_start = starts.split(",")[0]
    chosen = first.get(f"/operator/laporan-shift?tanggal={earlier_day}&shift={first_start}")
    assert chosen.status_code == 200
    assert "masih berjalan" not in soup(chosen).select_one("#shift-window").get_text()
    wrong = first.get(f"/operator/laporan-shift?tanggal={earlier_day}&shift=12:34")
    assert wrong.status_code == 400 and "Pilih salah satu shift" in field_error(wrong, "shift")
    assert soup(wrong).select_one("#tanggal")["value"] == earlier_day.isoformat()
    future = first.get(
        f"/operator/laporan-shift?tanggal={(local + timedelta(days=2)).date()}&shift={first_start}"
    )
    assert future.status_code == 400 and "belum dimulai" in field_error(future, "tanggal")


def test_trend_chart_geometry():
    from web.reports.chart import nice_ceiling, trend_chart
    from web.reports.figures import TrendDay

    assert [nice_ceiling(v) for v in (0, 3, 5, 9, 11, 42, 100, 101)] == [
        4,
        4,
        5,
        10,
        20,
        50,
        100,
        200,
    ]
    days = [TrendDay(date(2026, 11, 1) + timedelta(days=i), i, 30 - i) for i in range(30)]
    chart = trend_chart(days, lambda d: d.isoformat())
    assert len(chart.bars) == 60 and chart.max_value == 50
    tallest = max(chart.bars, key=lambda b: b.value)
    assert tallest.value == 30 and tallest.y + tallest.height == chart.plot_bottom
    assert all(b.height == 0 for b in chart.bars if b.value == 0)
    assert chart.x_ticks[-1].label == "2026-11-30"  # the latest day is always labelled
