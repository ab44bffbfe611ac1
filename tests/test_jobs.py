"""Background jobs: database leases, the SLA clock's escalations, the daily report job and the
``python -m web.worker`` process that runs them in production."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from db.tables import (
    Category,
    Complaint,
    DailyReport,
    JobLease,
    Notification,
    Opd,
    PushSubscription,
    StaffUser,
    TimelineEvent,
)
from tests.conftest import POSTGRES_URL, TEST_DB, run_async
from tests.factories import notification_kinds_for, staff_with_device
from web.jobs import lease
from web.jobs.daily_report import report_due, run_daily_report
from web.jobs.sla_clock import run_sla_clock
from web.settings import PROJECT_ROOT

JAKARTA = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # 10:00 in Cilegon


# --- Leases -------------------------------------------------------------------------------------


def test_a_lease_has_one_holder_until_released_or_expired():
    async def scenario():
        assert await lease.acquire("job", "a", now=NOW, ttl_seconds=60)
        assert not await lease.acquire("job", "b", now=NOW + timedelta(seconds=30), ttl_seconds=60)
        assert await lease.acquire("job", "a", now=NOW + timedelta(seconds=30), ttl_seconds=60)
        # "a" died without releasing: "b" takes over once the lease ran out.
        assert await lease.acquire("job", "b", now=NOW + timedelta(seconds=91), ttl_seconds=60)
        await lease.release("job", "b", now=NOW + timedelta(seconds=95), result="done")
        row = await JobLease.select().where(JobLease.name == "job").first()
        assert row["expires_at"] is None and row["last_result"] == "done"
        assert await lease.acquire("job", "c", now=NOW + timedelta(seconds=96), ttl_seconds=60)

    run_async(scenario)


def test_concurrent_processes_racing_for_a_free_lease_give_one_winner():
    async def race():
        return await asyncio.gather(
            *(lease.acquire("race", f"p{i}", now=NOW, ttl_seconds=60) for i in range(6))
        )

    assert sorted(run_async(race)) == [False] * 5 + [True]


class FakeClock:
    """The runner's clock, moved by the test (the heartbeat's sleeps stay real and short)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def _renewed_until(expires_at: datetime) -> None:
    """Wait (real time, under any load) until the lease's end has moved to ``expires_at``."""
    deadline = time.monotonic() + 20
    while True:
        row = await JobLease.select(JobLease.expires_at).where(JobLease.name == "long").first()
        if row and row["expires_at"] and row["expires_at"] >= expires_at:
            return
        assert time.monotonic() < deadline, "no heartbeat renewed the lease"
        await asyncio.sleep(0.02)


def test_a_long_job_keeps_its_lease_past_the_lease_duration_thanks_to_the_heartbeat():
    from web.jobs.runner import Job, JobRunner

    clock = FakeClock(NOW)
    others_got_it = []

    async def long_job(now: datetime) -> str:
        # Five minutes of work against a one-minute lease, 20 s of clock per heartbeat.
        for _ in range(15):
            clock.advance(20)
            await _renewed_until(clock() + timedelta(seconds=60))  # a beat at the new time
            others_got_it.append(await lease.acquire("long", "other", now=clock(), ttl_seconds=60))
        return "done"

    async def scenario():
        runner = JobRunner(
            [Job("long", 3600, long_job)],
            lease_seconds=60,
            holder="worker-a",
            clock=clock,
            heartbeat_seconds=0.05,
        )
        result = await runner.run_job(runner.jobs[0], clock())
        row = await JobLease.select().where(JobLease.name == "long").first()
        return result, row

    result, row = run_async(scenario)
    assert clock() - NOW == timedelta(minutes=5)
    assert others_got_it == [False] * 15
    assert result == "done"
    assert row["holder"] == "worker-a" and row["expires_at"] is None  # released at the end
    assert row["last_succeeded_at"] == NOW + timedelta(minutes=5)


def test_without_a_heartbeat_the_lease_runs_out_and_another_process_takes_the_job():
    async def scenario():
        assert await lease.acquire("job", "stalled", now=NOW, ttl_seconds=60)
        assert await lease.renew("job", "stalled", now=NOW + timedelta(seconds=20), ttl_seconds=60)
        # The holder stops renewing (crashed, or frozen): its lease ends 60 s after the last beat.
        assert not await lease.acquire("job", "b", now=NOW + timedelta(seconds=80), ttl_seconds=60)
        assert await lease.acquire("job", "b", now=NOW + timedelta(seconds=81), ttl_seconds=60)
        # The stalled holder wakes up: its renewal fails, its release leaves b's lease alone.
        lost = not await lease.renew(
            "job", "stalled", now=NOW + timedelta(seconds=82), ttl_seconds=60
        )
        kept = await lease.release(
            "job", "stalled", now=NOW + timedelta(seconds=83), result="stale"
        )
        row = await JobLease.select().where(JobLease.name == "job").first()
        return lost, kept, row

    lost, kept, row = run_async(scenario)
    assert lost and not kept
    assert row["holder"] == "b" and row["expires_at"] == NOW + timedelta(seconds=141)
    assert row["last_result"] == ""  # the stale run recorded nothing over b's


def test_a_run_that_lost_its_lease_logs_it_stops_renewing_and_finishes(caplog):
    from web.jobs.runner import Job, JobRunner

    clock = FakeClock(NOW)

    async def slow_job(now: datetime) -> str:
        # This process froze past its lease; meanwhile another took the job over.
        clock.advance(61)
        assert await lease.acquire("slow", "b", now=clock(), ttl_seconds=60)
        deadline = time.monotonic() + 20
        while not _lost_logged():  # the next beat finds the lease lost
            assert time.monotonic() < deadline, "no heartbeat noticed the lost lease"
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # more beats would log again if it went on renewing
        return "finished anyway"

    async def scenario():
        runner = JobRunner(
            [Job("slow", 3600, slow_job)],
            lease_seconds=60,
            holder="a",
            clock=clock,
            heartbeat_seconds=0.05,
        )
        result = await runner.run_job(runner.jobs[0], clock())
        row = await JobLease.select().where(JobLease.name == "slow").first()
        return result, row

    def _lost_logged() -> list:
        return [r for r in caplog.records if "lease lost" in r.getMessage()]

    with caplog.at_level("WARNING", logger="aduan.jobs"):
        result, row = run_async(scenario)
    lost = _lost_logged()
    assert len(lost) == 1  # logged once: it stopped renewing
    assert result == "finished anyway"
    assert row["holder"] == "b" and row["expires_at"] == NOW + timedelta(seconds=121)


def test_a_failing_job_records_its_error_and_keeps_its_last_success():
    from web.jobs.runner import Job, JobRunner

    clock = FakeClock(NOW)
    outcomes = iter(["ok", RuntimeError("storage unreachable")])

    async def flaky(now: datetime) -> str:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def scenario():
        runner = JobRunner([Job("flaky", 60, flaky)], lease_seconds=60, clock=clock)
        await runner.run_job(runner.jobs[0], clock())
        clock.advance(60)
        with pytest.raises(RuntimeError):
            await runner.run_job(runner.jobs[0], clock())
        return await JobLease.select().where(JobLease.name == "flaky").first()

    row = run_async(scenario)
    assert row["last_succeeded_at"] == NOW
    assert row["last_finished_at"] == NOW + timedelta(seconds=60)
    assert row["last_error"] == "RuntimeError: storage unreachable"
    assert row["expires_at"] is None


# --- SLA clock ----------------------------------------------------------------------------------


async def _dispatched(title: str, *, started: datetime, due: datetime, opd_id: int) -> int:
    category = await Category.select(Category.id).first()
    rows = await Complaint.insert(
        Complaint(
            number=f"CLG-2026-{uuid.uuid4().int % 1_000_000:06d}",
            client_key=uuid.uuid4(),
            classification="complaint",
            category=category["id"],
            title=title,
            description="Lampu jalan mati",
            privacy="public",
            status="dispatched",
            channel="pwa",
            opd=opd_id,
            sla_started_at=started,
            sla_warn_at=due - (due - started) * 0.2,
            sla_due_at=due,
            created_at=started,
            updated_at=started,
        )
    ).returning(Complaint.id)
    return rows[0]["id"]


@pytest.fixture
def sla_tickets():
    async def make():
        opds = await Opd.select(Opd.id).limit(2)
        opd, other_opd = opds[0]["id"], opds[1]["id"]
        staff = {
            "opd": await staff_with_device("opd_staff", opd, now=NOW),
            "other_opd": await staff_with_device("opd_staff", other_opd, now=NOW),
            "supervisor": await staff_with_device("supervisor", None, now=NOW),
        }
        started = NOW - timedelta(hours=60)
        tickets = {
            # 72 h window: near breach from 57.6 h, so at 60 h it is near breach.
            "near": await _dispatched(
                "near", started=started, due=started + timedelta(hours=72), opd_id=opd
            ),
            "overdue": await _dispatched(
                "overdue",
                started=started - timedelta(hours=20),
                due=NOW - timedelta(hours=1),
                opd_id=opd,
            ),
            "on_time": await _dispatched(
                "on time",
                started=NOW - timedelta(hours=1),
                due=NOW + timedelta(hours=71),
                opd_id=opd,
            ),
        }
        return tickets, staff

    return run_async(make)


async def _events(complaint_id: int) -> list[dict]:
    return await TimelineEvent.select(TimelineEvent.kind, TimelineEvent.is_public).where(
        (TimelineEvent.complaint == complaint_id) & TimelineEvent.kind.like("sla_%")
    )


def test_sla_clock_escalates_each_ticket_once_and_tells_the_right_people(sla_tickets):
    tickets, staff = sla_tickets
    assert run_async(lambda: run_sla_clock(now=NOW)) == {"sla_overdue": 1, "sla_near_breach": 1}

    near = run_async(lambda: _events(tickets["near"]))
    overdue = run_async(lambda: _events(tickets["overdue"]))
    assert near == [{"kind": "sla_near_breach", "is_public": False}]  # the OPD's warning
    assert overdue == [{"kind": "sla_overdue", "is_public": True}]  # the citizen sees it
    assert run_async(lambda: _events(tickets["on_time"])) == []
    assert run_async(lambda: notification_kinds_for(staff["opd"])) == ["sla_near_breach"]
    assert run_async(lambda: notification_kinds_for(staff["supervisor"])) == ["sla_overdue"]
    assert run_async(lambda: notification_kinds_for(staff["other_opd"])) == []

    # A second run, later, finds nothing new; the near ticket goes overdue exactly once.
    assert run_async(lambda: run_sla_clock(now=NOW + timedelta(minutes=5))) == {
        "sla_overdue": 0,
        "sla_near_breach": 0,
    }
    later = NOW + timedelta(hours=13)
    assert run_async(lambda: run_sla_clock(now=later)) == {"sla_overdue": 1, "sla_near_breach": 0}
    assert [e["kind"] for e in run_async(lambda: _events(tickets["near"]))] == [
        "sla_near_breach",
        "sla_overdue",
    ]


@pytest.mark.clock
def test_redispatch_restarts_the_clock_and_its_escalations(make_client, sla_tickets):
    from web.workflow.service import Actor, act

    tickets, _ = sla_tickets
    run_async(lambda: run_sla_clock(now=NOW))
    operator = Actor(kind="system", id=None, role="operator")
    # One clock for the whole story: the other tickets' SLAs run out at fixed times after NOW.
    redispatched_at = NOW + timedelta(minutes=30)

    async def return_and_redispatch():
        row = (
            await Complaint.select(Complaint.number, Complaint.version, Complaint.opd)
            .where(Complaint.id == tickets["overdue"])
            .first()
        )
        opd_actor = Actor(kind="system", id=None, role="opd_staff", opd_id=row["opd"])
        done = await act(
            row["number"],
            "return_to_operator",
            opd_actor,
            expected_version=row["version"],
            note="Bukan kewenangan kami",
            now=redispatched_at,
        )
        await act(
            row["number"],
            "dispatch",
            operator,
            expected_version=done["version"],
            opd_id=row["opd"],
            now=redispatched_at,
        )
        return (
            await Complaint.select(
                Complaint.sla_near_marked_at, Complaint.sla_overdue_marked_at, Complaint.sla_due_at
            )
            .where(Complaint.id == tickets["overdue"])
            .first()
        )

    fresh = run_async(return_and_redispatch)
    assert fresh["sla_near_marked_at"] is None and fresh["sla_overdue_marked_at"] is None
    # The new clock runs out in its own time, and escalates again then.
    assert fresh["sla_due_at"] > redispatched_at + timedelta(hours=1)
    soon = redispatched_at + timedelta(minutes=5)
    assert run_async(lambda: run_sla_clock(now=soon))["sla_overdue"] == 0
    run_async(lambda: run_sla_clock(now=fresh["sla_due_at"] + timedelta(seconds=1)))
    kinds = [e["kind"] for e in run_async(lambda: _events(tickets["overdue"]))]
    assert kinds == ["sla_overdue", "sla_overdue"]


def test_two_processes_running_the_sla_clock_at_once_escalate_each_ticket_once(sla_tickets):
    tickets, _ = sla_tickets

    async def both():
        return await asyncio.gather(run_sla_clock(now=NOW), run_sla_clock(now=NOW))

    run_async(both)
    for complaint_id in (tickets["near"], tickets["overdue"]):
        assert len(run_async(lambda complaint_id=complaint_id: _events(complaint_id))) == 1


# --- Daily report job ---------------------------------------------------------------------------


def test_report_is_due_after_report_time_for_the_day_before():
    before = datetime(2026, 11, 24, 6, 59, tzinfo=JAKARTA)
    after = datetime(2026, 11, 24, 7, 0, tzinfo=JAKARTA)
    assert report_due(before, report_time="07:00", tz=JAKARTA) is None
    assert report_due(after, report_time="07:00", tz=JAKARTA).isoformat() == "2026-11-23"
    # Just after midnight UTC it is already the morning of the 25th in Cilegon.
    utc_morning = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)
    assert report_due(utc_morning, report_time="07:00", tz=JAKARTA).isoformat() == "2026-11-24"


def test_daily_report_is_made_once_and_supervisors_are_told():
    async def scenario():
        supervisor = await staff_with_device("supervisor", None, now=NOW)
        at = datetime(2026, 11, 24, 7, 5, tzinfo=JAKARTA)
        first = await run_daily_report(now=at, report_time="07:00", tz=JAKARTA)
        second = await run_daily_report(
            now=at + timedelta(minutes=1), report_time="07:00", tz=JAKARTA
        )
        reports = await DailyReport.select(DailyReport.day)
        return first, second, reports, await notification_kinds_for(supervisor)

    first, second, reports, told = run_async(scenario)
    assert first == "2026-11-23 made" and second == ""
    assert [r["day"].isoformat() for r in reports] == ["2026-11-23"]
    assert told == ["report_ready"]


# --- The worker process -------------------------------------------------------------------------


@pytest.mark.clock
def test_worker_process_escalates_and_stops_cleanly_on_sigterm(sla_tickets):
    tickets, _ = sla_tickets
    # No devices: this test is about the clock, not about reaching a push service.
    run_async(lambda: PushSubscription.delete(force=True))
    env = dict(os.environ)
    env.update(ADUAN_SLA_CHECK_SECONDS="1", ADUAN_REPORT_TIME="23:59")
    worker = subprocess.Popen(
        [sys.executable, "-m", "web.worker"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if run_async(lambda: _events(tickets["overdue"])):
                break
            time.sleep(0.3)
        assert run_async(lambda: _events(tickets["overdue"])), "the worker did not escalate"
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
        output = worker.stdout.read().decode()
    assert "jobs running" in output, output
    sla_lease = run_async(lambda: JobLease.select().where(JobLease.name == "sla_clock").first())
    assert sla_lease["expires_at"] is None, "the lease was not released on shutdown"


def _hold_row_lock(complaint_id: int, held: threading.Event, release: threading.Event) -> None:
    """Keep one complaint row locked (FOR UPDATE) until ``release``: the SLA clock blocks on it."""
    import asyncpg

    async def hold():
        conn = await asyncpg.connect(POSTGRES_URL)
        try:
            async with conn.transaction():
                await conn.execute(
                    "SELECT id FROM complaint WHERE id = $1 FOR UPDATE", complaint_id
                )
                held.set()
                while not release.is_set():
                    await asyncio.sleep(0.02)
        finally:
            await conn.close()

    asyncio.run(hold())


async def _sla_lease() -> dict:
    return await JobLease.select().where(JobLease.name == "sla_clock").first() or {}


@pytest.mark.skipif(TEST_DB != "postgres", reason="holds a row lock while the worker keeps beating")
def test_a_killed_workers_job_is_taken_over_by_the_other_worker_about_a_lease_later(sla_tickets):
    """Two ``python -m web.worker``; the one running the SLA clock is SIGKILLed mid-run.

    A row lock held by the test keeps the SLA clock's run going (blocked on the overdue ticket),
    so the lease is held, and renewed, by a live process when it is killed.
    """
    tickets, _ = sla_tickets
    run_async(lambda: PushSubscription.delete(force=True))
    lease_seconds = 3
    env = dict(os.environ)
    env.update(
        ADUAN_SLA_CHECK_SECONDS="1",
        ADUAN_REPORT_TIME="23:59",
        ADUAN_JOB_LEASE_SECONDS=str(lease_seconds),
    )
    held, release = threading.Event(), threading.Event()
    locker = threading.Thread(target=_hold_row_lock, args=(tickets["overdue"], held, release))
    locker.start()
    workers = []
    try:
        assert held.wait(10)
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "web.worker"],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for _ in range(2)
        ]
        deadline = time.monotonic() + 30
        while not run_async(_sla_lease).get("expires_at"):
            assert time.monotonic() < deadline, "no worker took the SLA clock's lease"
            time.sleep(0.1)
        taken = run_async(_sla_lease)
        # Stuck in its run for twice the lease: the heartbeat keeps the lease with the same holder.
        time.sleep(2 * lease_seconds)
        still = run_async(_sla_lease)
        assert still["holder"] == taken["holder"]
        assert still["expires_at"] > taken["expires_at"]
        assert run_async(lambda: _events(tickets["overdue"])) == []

        holder_pid = int(taken["holder"].split(":")[1])
        victim = next(w for w in workers if w.pid == holder_pid)
        survivor = next(w for w in workers if w.pid != holder_pid)
        victim.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        release.set()
        victim.wait(timeout=10)
        while not run_async(lambda: _events(tickets["overdue"])):
            assert time.monotonic() - killed_at < 30, "the other worker never took the job over"
            time.sleep(0.05)
        take_over = time.monotonic() - killed_at
        after = run_async(_sla_lease)
        print(f"take-over after SIGKILL: {take_over:.2f} s (lease {lease_seconds} s)")
        assert int(after["holder"].split(":")[1]) == survivor.pid
        # The dead worker's lease runs out at most one lease after its last beat; the survivor
        # looks again every third of a lease.
        assert take_over < lease_seconds + lease_seconds / 3 + 2, take_over
        assert len(run_async(lambda: _events(tickets["overdue"]))) == 1
    finally:
        release.set()
        locker.join(timeout=10)
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()


def test_report_time_must_be_a_clock_time():
    from web.settings import SettingsError, load_settings

    assert load_settings({"ADUAN_REPORT_TIME": "06:30"}).report_time == "06:30"
    for bad in ("7", "7:00", "24:00", "07.00", "pagi"):
        with pytest.raises(SettingsError):
            load_settings({"ADUAN_REPORT_TIME": bad})


def test_old_finished_notifications_are_forgotten_pending_ones_kept():
    from web.notifications.delivery import forget_old_notifications

    async def scenario():
        old, recent = NOW - timedelta(days=40), NOW - timedelta(days=2)
        rows = [
            ("sent", old),
            ("failed", old),
            ("gone", old),
            ("pending", old),
            ("sent", recent),
        ]
        await Notification.insert(
            *[
                Notification(
                    channel="push",
                    kind="verify",
                    title="t",
                    body="b",
                    url="/",
                    status=status,
                    next_attempt_at=created,
                    created_at=created,
                )
                for status, created in rows
            ]
        )
        result = await forget_old_notifications(now=NOW, keep_days=30)
        left = await Notification.select(Notification.status).order_by(Notification.id)
        return result, [row["status"] for row in left]

    result, left = run_async(scenario)
    assert result == "3 deleted"
    assert left == ["pending", "sent"]


def test_a_batch_of_escalations_tells_each_opd_only_its_own_in_constant_queries():
    from tests.query_counter import count_queries

    async def scenario(per_opd: int):
        opds = [row["id"] for row in await Opd.select(Opd.id).limit(3)]
        staff = {opd: await staff_with_device("opd_staff", opd, now=NOW) for opd in opds}
        started = NOW - timedelta(hours=60)
        tickets = {opd: [] for opd in opds}
        for opd in opds:
            for i in range(per_opd):
                due = started + timedelta(hours=72)
                tickets[opd].append(
                    await _dispatched(f"near {i}", started=started, due=due, opd_id=opd)
                )
        with count_queries() as seen:
            await run_sla_clock(now=NOW)
        told = {}
        for opd, member in staff.items():
            rows = await Notification.select(Notification.complaint).where(
                Notification.staff == member
            )
            told[opd] = sorted(row["complaint"] for row in rows)
        expected = {opd: sorted(ids) for opd, ids in tickets.items()}
        await Notification.delete(force=True)
        await TimelineEvent.delete(force=True)
        await PushSubscription.delete(force=True)
        await Complaint.delete(force=True)
        await StaffUser.delete(force=True)
        return told, expected, len(seen)

    told, expected, few = run_async(lambda: scenario(1))
    assert told == expected
    told, expected, many = run_async(lambda: scenario(5))
    assert told == expected
    assert few == many, (few, many)
