"""Database leases: with several web or worker processes, a periodic job runs in one at a time.

A lease is the job's row in ``job_lease``: taking it is one conditional UPDATE (free, expired, or
already ours), so two processes racing for it cannot both win on either engine. A process that
dies keeps the lease only until ``expires_at``; then another takes over.
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


async def acquire(name: str, holder: str, *, now: datetime, ttl_seconds: int) -> bool:
    async with write_transaction():
        if not await JobLease.exists().where(JobLease.name == name):
            # Concurrent first runs: the unique name lets one insert win; the loser just competes below.
            await JobLease.raw(
                "INSERT INTO job_lease (name, holder, expires_at, last_result) "
                "VALUES ({}, '', NULL, '') ON CONFLICT (name) DO NOTHING",
                name,
            )
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


async def release(name: str, holder: str, *, now: datetime, result: str) -> None:
    async with write_transaction():
        await JobLease.update(
            {
                JobLease.expires_at: None,
                JobLease.last_finished_at: now,
                JobLease.last_result: result[:300],
            }
        ).where((JobLease.name == name) & (JobLease.holder == holder))
