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
    lease_seconds: int | None = None  # None: safe to run in several processes at once


def default_jobs(settings: Settings, messenger: Messenger, tz: ZoneInfo) -> list[Job]:
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
        done = await run_sla_clock(now=now)
        return ", ".join(f"{kind}: {count}" for kind, count in done.items() if count)

    async def purge_sign_ins(now: datetime) -> str:
        expired = await sessions.delete_expired(now)
        codes = await forget_old_codes(now=now, keep=SIGN_IN_CODES_KEPT, settings=settings)
        return f"sessions: {expired}, codes: {codes}" if expired or codes else ""

    return [
        Job("notifications", 2, deliver),
        Job("sla_clock", settings.sla_check_seconds, escalate, lease_seconds=300),
        Job(
            "public_figures",
            max(settings.public_refresh_seconds, 5),
            lambda now: refresh_snapshot(now=now),
            lease_seconds=600,
        ),
        Job(
            "notification_cleanup",
            3600,
            lambda now: forget_old_notifications(now=now, keep_days=NOTIFICATIONS_KEPT_DAYS),
            lease_seconds=600,
        ),
        Job("sign_in_cleanup", 3600, purge_sign_ins, lease_seconds=600),
        Job(
            "rate_limit_cleanup",
            3600,
            lambda now: limits.forget_expired(now=now),
            lease_seconds=600,
        ),
        Job(
            "daily_report",
            60,
            lambda now: run_daily_report(now=now, report_time=settings.report_time, tz=tz),
            lease_seconds=600,
        ),
    ]


class JobRunner:
    def __init__(self, jobs: list[Job], *, holder: str | None = None) -> None:
        self.jobs = jobs
        self.holder = holder or lease.process_holder()
        self._next_run = {job.name: 0.0 for job in jobs}

    async def run_job(self, job: Job, now: datetime) -> object:
        """Run ``job`` once if its lease (when it needs one) is free; None when another has it."""
        if job.lease_seconds is not None and not await lease.acquire(
            job.name, self.holder, now=now, ttl_seconds=job.lease_seconds
        ):
            return None
        result: object = "failed"
        try:
            result = await job.run(now)
            return result
        finally:
            if job.lease_seconds is not None:
                await lease.release(
                    job.name, self.holder, now=datetime.now(UTC), result=str(result)
                )

    async def run_due(self) -> None:
        for job in self.jobs:
            if time.monotonic() < self._next_run[job.name]:
                continue
            self._next_run[job.name] = time.monotonic() + job.every_seconds
            # Every line of one run carries its id, as a request's lines carry the request's.
            with logs.bound_id(logs.new_id(f"{job.name}-")):
                try:
                    result = await self.run_job(job, datetime.now(UTC))
                    if result:
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
