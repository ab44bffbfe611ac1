"""Runs the periodic jobs: in the web process (embedded default) or in ``python -m web.worker``.

Jobs that must not overlap take a database lease first (see lease.py), so any number of processes
may run this loop. Notification delivery needs no lease: it claims rows one by one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from web import limits, logs, sessions
from web.citizen.accounts import forget_old_codes
from web.jobs import lease
from web.jobs.daily_report import run_daily_report
from web.jobs.health import alert_late_jobs, job_intervals
from web.jobs.sla_clock import run_sla_clock
from web.messaging.messenger import Messenger
from web.notifications.delivery import deliver_due, forget_old_notifications
from web.reports.public import refresh_snapshot
from web.settings import Settings

log = logging.getLogger("aduan.jobs")
DELIVERY_BATCHES_PER_TICK = 20
NOTIFICATIONS_KEPT_DAYS = 30
SIGN_IN_CODES_KEPT = timedelta(days=1)


@dataclass
class Job:
    name: str
    every_seconds: float
    run: Callable[[datetime], Awaitable[object]]
    exclusive: bool = True  # one process at a time (a lease); False: safe in several at once


def default_jobs(settings: Settings, messenger: Messenger, tz: ZoneInfo) -> list[Job]:
    every = job_intervals(settings)

    async def deliver(now: datetime) -> int:
        # A bounded number of batches per tick: a long backlog must not hold up the SLA clock
        # and the report (the next tick, 2 s later, goes on with it).
        sent = 0
        for _ in range(DELIVERY_BATCHES_PER_TICK):
            batch = await deliver_due(settings, messenger, now=datetime.now(UTC))
            sent += batch
            if batch == 0:
                break
        return sent

    async def escalate(now: datetime) -> str:
        done = await run_sla_clock(now=now, whatsapp_fallback=settings.notify_whatsapp_fallback)
        return ", ".join(f"{kind}: {count}" for kind, count in done.items() if count)

    async def purge_sign_ins(now: datetime) -> str:
        expired = await sessions.delete_expired(now)
        codes = await forget_old_codes(now=now, keep=SIGN_IN_CODES_KEPT, settings=settings)
        return f"sessions: {expired}, codes: {codes}" if expired or codes else ""

    runs: dict[str, Callable[[datetime], Awaitable[object]]] = {
        "notifications": deliver,
        "sla_clock": escalate,
        "public_figures": lambda now: refresh_snapshot(now=now),
        "notification_cleanup": lambda now: forget_old_notifications(
            now=now, keep_days=NOTIFICATIONS_KEPT_DAYS
        ),
        "sign_in_cleanup": purge_sign_ins,
        "rate_limit_cleanup": lambda now: limits.forget_expired(now=now),
        "daily_report": lambda now: run_daily_report(
            now=now, report_time=settings.report_time, tz=tz
        ),
        "job_health": lambda now: alert_late_jobs(now, settings),
    }
    # Delivery claims notifications row by row: every process may send at once.
    return [
        Job(name, every[name], run, exclusive=name != "notifications") for name, run in runs.items()
    ]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class JobRunner:
    """Runs due jobs one after the other; an exclusive job holds its lease for the whole run.

    While an exclusive job runs, a heartbeat renews its lease every third of
    ``lease_seconds``. If a renewal finds the lease lost (this process stalled past the lease,
    e.g. a long pause of the machine, and another took the job over), it logs it and stops
    renewing; the run itself goes on to its end, because every job is safe to overlap with itself
    (conditional marks in the SLA clock, the stored report, idempotent clean-ups) and stopping it
    half-way would only waste its work. Its release then leaves the new holder's lease alone.
    """

    def __init__(
        self,
        jobs: list[Job],
        *,
        lease_seconds: int = 60,
        holder: str | None = None,
        clock: Callable[[], datetime] = _utc_now,
        heartbeat_seconds: float | None = None,
    ) -> None:
        self.jobs = jobs
        self.lease_seconds = lease_seconds
        self.holder = holder or lease.process_holder()
        self.clock = clock
        self.heartbeat_seconds = heartbeat_seconds or lease_seconds / 3
        self._next_run = {job.name: 0.0 for job in jobs}
        self._status_recorded = {job.name: float("-inf") for job in jobs}

    async def _heartbeat(self, job: Job, done: asyncio.Event) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout=self.heartbeat_seconds)
            if done.is_set():
                return
            try:
                kept = await lease.renew(
                    job.name, self.holder, now=self.clock(), ttl_seconds=self.lease_seconds
                )
            except Exception:
                # The database may be back at the next beat, before the lease runs out.
                log.exception("job %s: lease renewal failed", job.name)
                continue
            if not kept:
                log.warning(
                    "job %s: lease lost to another process; this run goes on to its end "
                    "without renewing",
                    job.name,
                )
                return

    async def run_job(self, job: Job, now: datetime) -> object:
        """Run ``job`` once if its lease (when it needs one) is free; None when another has it."""
        if job.exclusive and not await lease.acquire(
            job.name, self.holder, now=now, ttl_seconds=self.lease_seconds
        ):
            return None
        done = asyncio.Event()
        heartbeat = asyncio.create_task(self._heartbeat(job, done)) if job.exclusive else None
        result: object = "failed"
        error: str | None = "interrupted"
        try:
            result = await job.run(now)
            error = None
            return "" if result is None else result  # None means "not ours to run"
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            if heartbeat is not None:
                # Stopped, not cancelled: a renewal cut off inside its transaction could leave
                # SQLite's write lock held by an abandoned connection.
                done.set()
                await heartbeat
            await self._record(job, started=now, result=str(result), error=error)

    async def _record(self, job: Job, *, started: datetime, result: str, error: str | None) -> None:
        finished = self.clock()
        if job.exclusive:
            await lease.release(job.name, self.holder, now=finished, result=result, error=error)
            return
        # A job without a lease runs every few seconds in every process: its status row is
        # written at most once per heartbeat period (failures at once), not on every run.
        if error is None and time.monotonic() - self._status_recorded[job.name] < (
            self.heartbeat_seconds
        ):
            return
        self._status_recorded[job.name] = time.monotonic()
        await lease.record_run(job.name, started=started, now=finished, result=result, error=error)

    async def run_due(self) -> None:
        for job in self.jobs:
            if time.monotonic() < self._next_run[job.name]:
                continue
            self._next_run[job.name] = time.monotonic() + job.every_seconds
            # Every line of one run carries its id, as a request's lines carry the request's.
            with logs.bound_id(logs.new_id(f"{job.name}-")):
                try:
                    result = await self.run_job(job, self.clock())
                    if result is None and job.exclusive:
                        # Another process holds it: look again soon, so that if that process
                        # died the job is taken over about when its lease runs out, not an
                        # interval later.
                        self._next_run[job.name] = time.monotonic() + min(
                            job.every_seconds, self.heartbeat_seconds
                        )
                    elif result:
                        log.info("job %s: %s", job.name, result)
                except Exception:
                    # One failing run must not stop the others; the next tick tries again.
                    log.exception("job %s failed", job.name)

    async def run_forever(self, stop: asyncio.Event, *, tick_seconds: float = 1.0) -> None:
        log.info("jobs running as %s: %s", self.holder, ", ".join(j.name for j in self.jobs))
        while not stop.is_set():
            await self.run_due()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=tick_seconds)
