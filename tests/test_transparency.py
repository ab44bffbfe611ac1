"""The public transparency page: no sign-in, no personal data, no confidential tickets, rounded
locations, figures equal to SQL, and a cache that a ticket change invalidates."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from db.tables import Complaint
from tests.conftest import run_async
from tests.helpers import clear_of_boundary, db, soup
from tests.query_counter import count_queries
from tests.report_data import make_dataset
from web.pwa.routes import SHELL_PAGES
from web.reports.public import CACHE_SECONDS, MAP_LIMIT, PAGE_SIZE
from web.workflow.service import Actor, act

LISTED = "('verified', 'dispatched', 'in_progress', 'resolved', 'closed')"
PUBLIC = "('public', 'anonymous')"


@pytest.fixture
def public_data(client):
    now = datetime.now(UTC)
    db(
        client,
        lambda: make_dataset(
            seed=11, start=now - timedelta(days=20), end=now, now=now, tickets=240, calls=0
        ),
    )
    return now


async def rows(sql: str, *args) -> list[dict]:
    return await Complaint.raw(sql, *args)


def all_public_pages(client) -> list:
    """Every page of the public list, following the "more" links (no JavaScript)."""
    pages, url = [], "/transparansi"
    while url and len(pages) < 50:
        response = client.get(url)
        assert response.status_code == 200
        pages.append(soup(response))
        more = pages[-1].select_one("#public-more a")
        url = more["href"].split("#")[0] if more else None
    return pages


def test_public_page_lists_exactly_the_public_tickets_and_nothing_personal(client, public_data):
    pages = all_public_pages(client)
    listed = [li["data-number"] for page in pages for li in page.select("li[data-number]")]
    expected = db(
        client,
        lambda: rows(
            f"SELECT number FROM complaint WHERE status IN {LISTED} AND privacy IN {PUBLIC} "
            "ORDER BY id DESC"
        ),
    )
    assert listed == [r["number"] for r in expected]
    assert len(pages) > 1 and len(pages[0].select("li[data-number]")) == PAGE_SIZE

    hidden = db(
        client,
        lambda: rows(
            f"SELECT number, title FROM complaint WHERE privacy = 'confidential' OR status NOT IN {LISTED}"
        ),
    )
    text = " ".join(page.get_text(" ") for page in pages)
    geojson = client.get("/transparansi/peta.json")
    assert geojson.headers["content-type"].startswith("application/geo+json")
    for row in hidden:
        assert row["number"] not in text and row["number"] not in geojson.text
    # No reporter, no description, anywhere.
    assert "Pelapor Rahasia" not in text + geojson.text
    assert "Deskripsi pribadi" not in text + geojson.text
    assert "/foto/" not in text


def test_map_points_are_rounded_to_about_100_m(client, public_data):
    response = client.get("/transparansi/peta.json")
    data = response.json()
    exact = db(
        client,
        lambda: rows(
            f"SELECT number, latitude, longitude FROM complaint WHERE status IN {LISTED} "
            f"AND privacy IN {PUBLIC} AND latitude IS NOT NULL ORDER BY id DESC LIMIT {MAP_LIMIT}"
        ),
    )
    assert len(data["features"]) == len(exact) > 20
    by_number = {r["number"]: r for r in exact}
    for feature in data["features"]:
        lng, lat = feature["geometry"]["coordinates"]
        row = by_number[feature["properties"]["number"]]
        assert lat == round(row["latitude"], 3) and lng == round(row["longitude"], 3)
        assert set(feature["properties"]) == {
            "number",
            "title",
            "category",
            "category_en",
            "status",
        }
    # Not a digit beyond the third decimal leaves the server, in any form.
    assert not re.search(r"\d+\.\d{4,}", response.text)


@pytest.mark.clock
def test_public_figures_match_sql_and_exclude_confidential(client, public_data):
    page = soup(client.get("/transparansi"))
    since = public_data - timedelta(days=365)
    window = f"created_at >= {{}} AND privacy IN {PUBLIC}"
    by_status = db(
        client,
        lambda: rows(
            f"SELECT status, count(*) AS n FROM complaint WHERE {window} GROUP BY status", since
        ),
    )
    for row in by_status:
        assert page.select_one(f"dd[data-status='{row['status']}']").get_text() == str(row["n"])
    total = sum(r["n"] for r in by_status)
    assert page.select_one("#public-totals dd[data-figure=total]").get_text() == str(total)
    everything = db(client, lambda: Complaint.count())
    assert total < everything  # confidential tickets exist and are not counted

    by_category = db(
        client,
        lambda: rows(
            "SELECT category.name AS name, count(*) AS n FROM complaint "
            "JOIN category ON category.id = complaint.category "
            f"WHERE complaint.created_at >= {{}} AND complaint.privacy IN {PUBLIC} "
            "GROUP BY category.name",
            since,
        ),
    )
    for row in by_category:
        cell = page.select_one(f"#by-category tr[data-name='{row['name']}'] td[data-figure=total]")
        assert cell.get_text() == str(row["n"])

    by_kecamatan = db(
        client,
        lambda: rows(
            "SELECT kecamatan.name AS name, count(*) AS n FROM complaint "
            "JOIN kelurahan ON kelurahan.id = complaint.kelurahan "
            "JOIN kecamatan ON kecamatan.id = kelurahan.kecamatan "
            f"WHERE complaint.created_at >= {{}} AND complaint.privacy IN {PUBLIC} "
            "GROUP BY kecamatan.name",
            since,
        ),
    )
    assert len(by_kecamatan) >= 3
    for row in by_kecamatan:
        cell = page.select_one(f"#by-kecamatan tr[data-name='{row['name']}'] td[data-figure=total]")
        assert cell.get_text() == str(row["n"])

    by_opd = db(
        client,
        lambda: rows(
            "SELECT opd.short_name AS name, count(*) AS n, "
            "sum(CASE WHEN status IN ('resolved','closed') AND resolved_at <= sla_due_at THEN 1 ELSE 0 END) AS on_time, "
            "sum(CASE WHEN status IN ('resolved','closed') THEN 1 ELSE 0 END) AS done, "
            "sum(CASE WHEN status IN ('dispatched','in_progress') AND sla_due_at < {} THEN 1 ELSE 0 END) AS overdue "
            "FROM complaint JOIN opd ON opd.id = complaint.opd "
            f"WHERE complaint.created_at >= {{}} AND complaint.privacy IN {PUBLIC} GROUP BY opd.short_name",
            datetime.now(UTC),
            since,
        ),
    )
    for row in by_opd:
        tr = page.select_one(f"#by-opd tr[data-name='{row['name']}']")
        assert tr.select_one("td[data-figure=total]").get_text() == str(row["n"])
        denominator = int(row["done"]) + int(row["overdue"])
        shown = tr.select_one("td[data-figure=compliance]").get_text()
        if denominator:
            value = 100 * int(row["on_time"]) / denominator
            assert abs(float(shown.replace(".", "").replace(",", ".")) - value) <= 0.051
        else:
            assert shown == "—"


def test_cache_is_used_until_a_ticket_changes(client, public_data):
    # The cache key also moves every CACHE_SECONDS of the wall clock: keep both requests in one.
    clear_of_boundary(CACHE_SECONDS)
    first = soup(client.get("/transparansi"))
    with count_queries() as seen:
        assert client.get("/transparansi").status_code == 200
    assert len(seen) == 1, seen  # only the max(updated_at) key

    received = db(
        client,
        lambda: (
            Complaint.select(Complaint.number)
            .where(
                (Complaint.status == "received")
                & (Complaint.privacy == "public")
                & Complaint.latitude.is_not_null()
            )
            .first()
        ),
    )
    number = received["number"]
    verified_before = int(first.select_one("dd[data-status=verified]").get_text())
    assert number not in client.get("/transparansi/peta.json").text
    db(
        client,
        lambda: act(
            number, "verify", Actor(kind="system", id=None, role="operator"), expected_version=1
        ),
    )
    after = soup(client.get("/transparansi"))
    assert int(after.select_one("dd[data-status=verified]").get_text()) == verified_before + 1
    listed = [
        li["data-number"]
        for page in all_public_pages(client)
        for li in page.select("li")
        if li.has_attr("data-number")
    ]
    assert number in listed
    assert number in client.get("/transparansi/peta.json").text


def test_public_page_needs_no_sign_in_and_is_never_stored_offline(client):
    response = client.get("/transparansi")
    assert response.status_code == 200
    assert "/transparansi" not in SHELL_PAGES
    assert "session" not in response.headers.get("set-cookie", "")
    assert response.headers["cache-control"] == "no-cache"
    home = soup(client.get("/"))
    assert home.select_one("footer a[href='/transparansi']")


def test_public_map_shows_the_points_in_a_browser(live_server, chromium):
    from tests.conftest import run_async

    now = datetime.now(UTC)
    run_async(
        lambda: make_dataset(seed=5, start=now - timedelta(days=12), end=now, now=now, tickets=60)
    )
    context = chromium.new_context(viewport={"width": 360, "height": 780}, is_mobile=True)
    page = context.new_page()
    page.route("**/*tile*/**", lambda route: route.abort())  # no map tiles offline; points only
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(live_server.url + "/transparansi", wait_until="load")
    # Below the figures on a phone, the map costs nothing until the visitor scrolls to it.
    assert not [url for url in requested if "leaflet" in url or "peta.json" in url]
    page.locator("#peta").scroll_into_view_if_needed()
    features = page.evaluate("fetch('/transparansi/peta.json').then(r => r.json())")["features"]
    page.wait_for_function(
        "n => document.querySelectorAll('[data-public-map] path.leaflet-interactive').length === n",
        arg=len(features),
    )
    page.locator("[data-public-map] path.leaflet-interactive").first.dispatch_event("click")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert popup.locator("strong").inner_text() in {f["properties"]["title"] for f in features}
    assert errors == []
    context.close()


def test_after_a_change_the_cache_is_rebuilt_at_most_once_per_refresh_interval():
    from web.reports.public import PublicCache

    now = [1000.0]
    made = []
    cache = PublicCache(min_age_seconds=30, clock=lambda: now[0])

    async def make():
        made.append(now[0])
        return f"figures {len(made)}", "a" if len(made) == 1 else "b"

    async def scenario():
        assert await cache.get("a", make) == "figures 1"
        now[0] += 10
        assert await cache.get("b", make) == "figures 1"  # changed, but only 10 s old
        now[0] += 25
        assert await cache.get("b", make) == "figures 2"  # 35 s: rebuilt
        assert await cache.get("b", make) == "figures 2"  # unchanged: kept

    run_async(scenario)
    assert made == [1000.0, 1035.0]


def test_a_malformed_page_cursor_shows_the_first_page(client):
    for cursor in ("99999999999999999999", "²", "-1"):
        assert client.get(f"/transparansi?setelah={cursor}").status_code == 200, cursor


@pytest.mark.clock
def test_the_worker_keeps_the_figures_so_requests_never_aggregate(client, public_data):
    from web.reports.public import PublicCache, public_figures, refresh_snapshot

    heavy = "GROUP BY status, category, kelurahan, opd"

    def verified_count(cache, now=None, stale_after=60) -> tuple[int, bool]:
        with count_queries() as seen:
            figures = db(
                client, lambda: public_figures(cache, now, stale_after_seconds=stale_after)
            )
        return figures.by_status.get("verified", 0), any(heavy in q for q in seen)

    # One moment for both runs: the key also moves with the clock every CACHE_SECONDS.
    now = datetime.now(UTC)
    assert db(client, lambda: refresh_snapshot(now=now)) == "public figures refreshed"
    assert db(client, lambda: refresh_snapshot(now=now)) == ""  # nothing changed
    before, aggregated = verified_count(PublicCache())
    assert not aggregated

    number = db(
        client,
        lambda: (
            Complaint.select(Complaint.number)
            .where((Complaint.status == "received") & (Complaint.privacy == "public"))
            .first()
        ),
    )["number"]
    actor = Actor(kind="system", id=None, role="operator")
    db(client, lambda: act(number, "verify", actor, expected_version=1))
    # Changed, but the snapshot is young: requests keep serving it and never aggregate.
    assert verified_count(PublicCache()) == (before, False)
    # The worker's next run picks the change up.
    assert db(client, lambda: refresh_snapshot(now=datetime.now(UTC))) == "public figures refreshed"
    assert verified_count(PublicCache()) == (before + 1, False)

    # No worker for a long time (the snapshot is out of date and old): a request computes.
    db(client, lambda: act(number, "dispatch", actor, expected_version=2, opd_id=1))
    later = datetime.now(UTC) + timedelta(minutes=10)
    assert verified_count(PublicCache(), now=later) == (before, True)


def test_two_web_processes_agree_on_the_figures_within_the_refresh_interval(database, tmp_path):
    """Two real server processes on one database. A process that rebuilds after a change but
    before the worker refreshed the stored figures must not keep the old figures as current: once
    the worker stores the new ones, both show them within ADUAN_PUBLIC_REFRESH_SECONDS."""
    from tests.browser import free_port, start_server, stop_server
    from web.reports.public import refresh_snapshot

    refresh = 5  # ADUAN_PUBLIC_REFRESH_SECONDS for both processes; stored figures stay 2 x 5 s
    now = datetime.now(UTC)
    run_async(
        lambda: make_dataset(
            seed=11, start=now - timedelta(days=20), end=now, now=now, tickets=80, calls=0
        )
    )
    servers = []
    try:
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            process, server = start_server(
                tmp_path / name, free_port(), ADUAN_PUBLIC_REFRESH_SECONDS=str(refresh)
            )
            servers.append((process, server))
        a, b = (server.url for _, server in servers)

        def verified(url: str) -> int:
            page = soup(httpx.get(f"{url}/transparansi", timeout=10))
            figure = page.select_one("[data-status=verified]")
            return int(figure.get_text().replace(".", "")) if figure else 0

        # The steps below must share one CACHE_SECONDS bucket of the cache key.
        clear_of_boundary(CACHE_SECONDS, margin=40)
        run_async(lambda: refresh_snapshot(now=datetime.now(UTC)))  # the worker's run
        built = time.monotonic()
        before = verified(a)
        assert verified(b) == before

        number = run_async(
            lambda: (
                Complaint.select(Complaint.number)
                .where((Complaint.status == "received") & (Complaint.privacy == "public"))
                .first()
            )
        )["number"]
        actor = Actor(kind="system", id=None, role="operator")
        run_async(lambda: act(number, "verify", actor, expected_version=1))
        # Process a rebuilds after the change, before the worker ran: it can only get the stored
        # (old) figures, which are young enough to be served.
        time.sleep(max(0.0, built + refresh + 0.3 - time.monotonic()))
        assert verified(a) == before

        # The worker's next run stores the new figures; from then on both processes must show
        # them within one refresh interval (plus a moment for the requests themselves).
        run_async(lambda: refresh_snapshot(now=datetime.now(UTC)))
        deadline = time.monotonic() + refresh + 2
        seen = (verified(a), verified(b))
        while seen != (before + 1, before + 1) and time.monotonic() < deadline:
            time.sleep(0.25)
            seen = (verified(a), verified(b))
        assert seen == (before + 1, before + 1), f"a, b after the refresh: {seen}"
    finally:
        for process, _ in servers:
            stop_server(process)
