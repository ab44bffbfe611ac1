"""Liveness (/healthz), readiness (/readyz), job health (web/jobs/health.py), its admin page and
the supervisors' alert when a job is late."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from db.tables import JobLease, Notification
from tests.browser import free_port, start_server, stop_server
from tests.conftest import run_async
from tests.factories import notification_kinds_for, staff_with_device
from tests.helpers import db, soup
from tests.staff_helpers import make_staff, staff_sign_in
from web.jobs import lease
from web.jobs.health import alert_late_jobs, evaluate, job_status
from web.settings import get_settings

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
SETTINGS = dataclasses.replace(get_settings(), job_lease_seconds=60, sla_check_seconds=60)


# --- Liveness and readiness --------------------------------------------------------------------


def test_liveness_needs_no_database_and_readiness_says_the_node_cannot_serve(tmp_path):
    # Nothing listens on port 9: the database is "down" from the start (no pool: no connection
    # is made at start-up, as with a database that went away later).
    process, server = start_server(
        tmp_path,
        free_port(),
        ready_path="/healthz",
        ADUAN_DATABASE_URL="postgresql://aduan@127.0.0.1:9/aduan",
        ADUAN_DB_POOL_SIZE="0",
    )
    try:
        import httpx

        live = httpx.get(f"{server.url}/healthz", timeout=10)
        assert live.status_code == 200
        assert live.json() == {"status": "pass"}
        assert live.headers["cache-control"] == "no-store"

        ready = httpx.get(f"{server.url}/readyz", timeout=10)
        assert ready.status_code == 503
        assert ready.headers["cache-control"] == "no-store"
        body = ready.json()
        assert body["status"] == "fail"
        assert body["checks"]["database"]["status"] == "fail"
        # Only the error's type: a driver's message may name hosts or users.
        assert "127.0.0.1" not in ready.text
    finally:
        stop_server(process)


def test_readiness_passes_with_everything_up_and_names_the_release(make_client):
    client = make_client(release="r-2026.11")
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.headers["cache-control"] == "no-store"
    assert ready.headers["content-type"].startswith("application/health+json")
    body = ready.json()
    assert body["status"] == "pass" and body["release"] == "r-2026.11"
    assert body["checks"]["database"] == {"status": "pass"}
    assert body["checks"]["storage"] == {"status": "pass", "backend": "local"}
    assert body["checks"]["jobs"]["status"] == "pass" and body["checks"]["jobs"]["late"] == []


def test_readiness_lists_late_jobs_but_stays_ready(make_client):
    client = make_client()
    now = datetime.now(UTC)  # the endpoint reads the real clock: rows relative to it

    async def rows():
        await lease.record_run("notifications", started=now, now=now, result="3")
        await lease.acquire(
            "sla_clock", "gone-worker", now=now - timedelta(hours=2), ttl_seconds=60
        )
        await lease.release(
            "sla_clock", "gone-worker", now=now - timedelta(hours=2), result="sla_overdue: 1"
        )

    db(client, rows)
    ready = client.get("/readyz")
    assert ready.status_code == 200  # late jobs do not take the node out of the load balancer
    jobs = ready.json()["checks"]["jobs"]
    assert jobs["status"] == "warn" and jobs["late"] == ["sla_clock"]
    assert jobs["jobs"]["notifications"]["late"] is False
    assert jobs["jobs"]["sla_clock"]["late_after_seconds"] == 3 * 60 + 60
    assert ready.json()["status"] == "warn"


# --- Job status ----------------------------------------------------------------------------------


def _row(name: str, **columns) -> dict:
    base = {
        "name": name,
        "holder": "",
        "expires_at": None,
        "last_started_at": None,
        "last_finished_at": None,
        "last_succeeded_at": None,
        "last_result": "",
        "last_error": "",
        "created_at": None,
    }
    return base | columns


def test_a_job_is_late_when_it_has_not_succeeded_for_three_intervals_and_a_lease():
    bound = timedelta(seconds=3 * 60 + 60)  # the SLA clock: every 60 s, lease 60 s
    rows = [
        _row("sla_clock", last_started_at=NOW - bound, last_succeeded_at=NOW - bound),
        # Failing since its first attempt: late counts from the row's creation.
        _row(
            "daily_report",
            created_at=NOW - bound - timedelta(seconds=1),
            last_started_at=NOW - timedelta(seconds=5),
            last_error="ProgrammingError: relation missing",
        ),
        # Running now, last success long ago: stuck, so late although its lease is renewed.
        _row(
            "public_figures",
            expires_at=NOW + timedelta(seconds=40),
            last_started_at=NOW - timedelta(hours=1),
            last_succeeded_at=NOW - timedelta(hours=1),
        ),
    ]
    status = {s.name: s for s in evaluate(rows, now=NOW, settings=SETTINGS)}
    assert not status["sla_clock"].late  # exactly at the bound: not yet
    later = {s.name: s for s in evaluate(rows, now=NOW + timedelta(seconds=1), settings=SETTINGS)}
    assert later["sla_clock"].late
    assert status["daily_report"].late and status["daily_report"].last_succeeded_at is None
    assert status["public_figures"].late and status["public_figures"].running
    # Never run at all: nothing says since when it should have, so not late.
    assert not status["sign_in_cleanup"].late and status["sign_in_cleanup"].last_started_at is None
    # The hourly clean-ups get hours, not minutes.
    assert status["sign_in_cleanup"].late_after == timedelta(hours=3, seconds=60)


def test_delivery_records_its_runs_without_ever_holding_a_lease():
    async def scenario():
        await lease.record_run("notifications", started=NOW, now=NOW, result="2")
        await lease.record_run(
            "notifications",
            started=NOW + timedelta(seconds=2),
            now=NOW + timedelta(seconds=3),
            result="failed",
            error="OSError: push service unreachable",
        )
        row = await JobLease.select().where(JobLease.name == "notifications").first()
        statuses = await job_status(NOW + timedelta(seconds=3), SETTINGS)
        return row, {s.name: s for s in statuses}["notifications"]

    row, status = run_async(scenario)
    assert row["holder"] == "" and row["expires_at"] is None
    assert status.last_started_at == NOW + timedelta(seconds=2)
    assert status.last_succeeded_at == NOW  # the failure does not count as a success
    assert status.last_error.startswith("OSError")
    assert not status.late


def test_supervisors_are_alerted_once_per_late_spell():
    async def scenario():
        supervisor = await staff_with_device("supervisor", None, now=NOW)
        operator = await staff_with_device("operator", None, now=NOW)
        await lease.acquire("sla_clock", "w1", now=NOW, ttl_seconds=60)
        await lease.release("sla_clock", "w1", now=NOW, result="")
        told = []
        # Still fine after 4 minutes; late after 4 minutes and a second; checked every minute.
        for minutes in (4, 5, 6, 7):
            told.append(await alert_late_jobs(NOW + timedelta(minutes=minutes), SETTINGS))
        # It runs again: the spell is over. Late again later: a new alert.
        back = NOW + timedelta(minutes=8)
        await lease.acquire("sla_clock", "w2", now=back, ttl_seconds=60)
        await lease.release("sla_clock", "w2", now=back, result="")
        told.append(await alert_late_jobs(back + timedelta(minutes=1), SETTINGS))
        told.append(await alert_late_jobs(back + timedelta(minutes=10), SETTINGS))
        told.append(await alert_late_jobs(back + timedelta(minutes=11), SETTINGS))
        urls = await Notification.select(Notification.url).where(Notification.kind == "job_late")
        return (
            told,
            await notification_kinds_for(supervisor),
            await notification_kinds_for(operator),
            urls,
        )

    told, supervisor, operator, urls = run_async(scenario)
    assert told == ["", "late: sla_clock", "", "", "", "late: sla_clock", ""]
    assert supervisor == ["job_late", "job_late"]
    assert operator == []
    assert {row["url"] for row in urls} == {"/admin/pekerjaan"}


# --- The status page ------------------------------------------------------------------------------


def test_job_status_page_shows_each_job_to_admins_and_supervisors(make_client):
    admin = make_client()
    make_staff(admin, "admin")
    staff_sign_in(admin, "admin-kota")
    now = datetime.now(UTC)

    async def rows():
        await lease.record_run("notifications", started=now, now=now, result="1")
        long_ago = now - timedelta(days=1)
        await lease.acquire("daily_report", "w", now=long_ago, ttl_seconds=60)
        await lease.release(
            "daily_report", "w", now=long_ago, result="failed", error="ValueError: no figures"
        )

    db(admin, rows)
    page = admin.get("/admin/pekerjaan")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "private, no-store"
    html = soup(page)
    assert html.h1.get_text() == "Status pekerjaan latar"
    rows = {tr["data-job"]: tr for tr in html.select("#job-status tbody tr")}
    assert {"notifications", "sla_clock", "daily_report", "job_health"} <= rows.keys()
    assert rows["daily_report"]["data-late"] == "true"
    assert "ValueError: no figures" in rows["daily_report"].get_text()
    assert "Terlambat" in rows["daily_report"].get_text()
    assert rows["notifications"]["data-late"] == "false"
    assert rows["notifications"].find("time") is not None
    assert "Belum pernah berjalan" in rows["sla_clock"].get_text()
    assert "1 pekerjaan terlambat" in html.find(id="late-jobs").get_text()
    assert soup(admin.get("/admin")).find("a", href="/admin/pekerjaan") is not None

    supervisor = make_client()
    make_staff(supervisor, "supervisor")
    staff_sign_in(supervisor, "supervisor-kota")
    assert supervisor.get("/admin/pekerjaan").status_code == 200
    operator = make_client()
    make_staff(operator, "operator")
    staff_sign_in(operator, "operator-kota")
    assert operator.get("/admin/pekerjaan", follow_redirects=False).status_code == 403

    admin.get("/bahasa/en?next=/")
    assert soup(admin.get("/admin/pekerjaan")).h1.get_text() == "Background job status"
