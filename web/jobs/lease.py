"""Database leases: with several web or worker processes, a periodic job runs in one at a time.

A lease is the job's row in ``job_lease``: taking it is one conditional UPDATE (free, expired, or
already ours), so two processes racing for it cannot both win on either engine. The holder renews
it while the job runs (``renew``, the runner's heartbeat), so a lease can be short: a process that
dies keeps it only until ``expires_at`` (``ADUAN_JOB_LEASE_SECONDS``); then another takes over.

The same row records each job's health (last start, finish, success and error), also for jobs
that take no lease (``record_run``: notification delivery).
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from db.engine import write_transaction
from db.tables import JobLease


def process_holder() -> str:
    """Who holds a lease: host, pid and a random part (a restarted process is someone new)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def _ensure_row(name: str, now: datetime) -> None:
    if not await JobLease.exists().where(JobLease.name == name):
        # Concurrent first runs: the unique name lets one insert win; the loser just competes below.
        await JobLease.raw(
            "INSERT INTO job_lease (name, holder, expires_at, last_result, last_error) "
            "VALUES ({}, '', NULL, '', '') ON CONFLICT (name) DO NOTHING",
            name,
        )
        await JobLease.update({JobLease.created_at: now}).where(
            (JobLease.name == name) & JobLease.created_at.is_null()
        )


async def acquire(name: str, holder: str, *, now: datetime, ttl_seconds: int) -> bool:
    async with write_transaction():
        await _ensure_row(name, now)
        taken = (
            await JobLease.update(
                {
                    JobLease.holder: holder,
                    JobLease.expires_at: now + timedelta(seconds=ttl_seconds),
                    JobLease.last_started_at: now,
                }
            )
            .where(
                (JobLease.name == name)
                & (
                    JobLease.expires_at.is_null()
                    | (JobLease.expires_at < now)
                    | (JobLease.holder == holder)
                )
            )
            .returning(JobLease.id)
        )
    return bool(taken)


async def renew(name: str, holder: str, *, now: datetime, ttl_seconds: int) -> bool:
    """Extend ``holder``'s lease to ``now + ttl``; False when it is no longer theirs (lost).

    Only a lease still held and not yet run out is renewed: once it expired another process may
    already have taken it and started the job, so the late holder must not claim it back.
    """
    async with write_transaction():
        renewed = (
            await JobLease.update({JobLease.expires_at: now + timedelta(seconds=ttl_seconds)})
            .where(
                (JobLease.name == name)
                & (JobLease.holder == holder)
                & JobLease.expires_at.is_not_null()
                & (JobLease.expires_at >= now)
            )
            .returning(JobLease.id)
        )
    return bool(renewed)


def _outcome(now: datetime, result: str, error: str | None) -> dict:
    if error is None:
        return {
            JobLease.last_finished_at: now,
            JobLease.last_result: result[:300],
            JobLease.last_succeeded_at: now,
        }
    return {
        JobLease.last_finished_at: now,
        JobLease.last_result: result[:300],
        JobLease.last_error: error[:300],
    }


async def release(
    name: str, holder: str, *, now: datetime, result: str, error: str | None = None
) -> bool:
    """Give the lease up and record the run (a success unless ``error``); False if it was lost."""
    async with write_transaction():
        done = (
            await JobLease.update({JobLease.expires_at: None, **_outcome(now, result, error)})
            .where((JobLease.name == name) & (JobLease.holder == holder))
            .returning(JobLease.id)
        )
    return bool(done)


async def record_run(
    name: str, *, started: datetime, now: datetime, result: str, error: str | None = None
) -> None:
    """Record a run of a job that takes no lease (its row is a status row: never held)."""
    async with write_transaction():
        await _ensure_row(name, started)
        await JobLease.update(
            {JobLease.last_started_at: started, **_outcome(now, result, error)}
        ).where(JobLease.name == name)
