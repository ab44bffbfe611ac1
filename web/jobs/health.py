"""Job health: when each background job last ran and last succeeded, and which ones are late.

Read from ``job_lease`` (see lease.py), so any process can answer for the jobs of every worker:
the readiness check (/readyz), the admin page and the supervisors' alert all use ``job_status``.
A job is late when it has not succeeded for longer than ``late_after``: three of its intervals
(one missed run is no news, a failing or missing worker is) plus one lease (the time a crashed
worker's job waits before another process takes it over).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from db.engine import write_transaction
from db.tables import JobLease
from web.i18n import SOURCE_LOCALE, _, use_locale
from web.notifications.outbox import notify_job_late
from web.settings import Settings

DELIVERY_SECONDS = 2  # the notification outbox is sent this often
HOURLY = 3600


def job_intervals(settings: Settings) -> dict[str, float]:
    """Every periodic job and how often it runs, in seconds (the runner's schedule)."""
    return {
        "notifications": DELIVERY_SECONDS,
        "sla_clock": settings.sla_check_seconds,
        "public_figures": max(settings.public_refresh_seconds, 5),
        "notification_cleanup": HOURLY,
        "sign_in_cleanup": HOURLY,
        "rate_limit_cleanup": HOURLY,
        "daily_report": 60,
        "job_health": 60,
    }


def job_label(name: str) -> str:
    """What the job does, for people (admin page, alerts)."""
    labels = {
        "notifications": _("Pengiriman notifikasi"),
        "sla_clock": _("Pemeriksaan batas waktu (SLA)"),
        "public_figures": _("Angka halaman transparansi"),
        "notification_cleanup": _("Pembersihan notifikasi lama"),
        "sign_in_cleanup": _("Pembersihan sesi dan kode masuk"),
        "rate_limit_cleanup": _("Pembersihan penghitung batas"),
        "daily_report": _("Laporan harian pimpinan"),
        "job_health": _("Pemeriksaan pekerjaan terlambat"),
    }
    return labels.get(name, name)


def late_after(every_seconds: float, settings: Settings) -> timedelta:
    return timedelta(seconds=3 * every_seconds + settings.job_lease_seconds)


@dataclass(frozen=True)
class JobStatus:
    name: str
    every_seconds: float
    late_after: timedelta
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_succeeded_at: datetime | None
    last_result: str
    last_error: str
    running: bool  # a process holds its lease now
    late: bool

    def as_json(self) -> dict:
        def when(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        return {
            "every_seconds": self.every_seconds,
            "late_after_seconds": int(self.late_after.total_seconds()),
            "last_started_at": when(self.last_started_at),
            "last_succeeded_at": when(self.last_succeeded_at),
            "running": self.running,
            "late": self.late,
        }


def evaluate(rows: list[dict], *, now: datetime, settings: Settings) -> list[JobStatus]:
    """The status of every job at ``now`` from its ``job_lease`` row (a job never run has none).

    A job never run is not late: nothing says since when it should have run. One that ran but
    never succeeded is late counting from its first attempt (the row's ``created_at``).
    """
    by_name = {row["name"]: row for row in rows}
    statuses = []
    for name, every in job_intervals(settings).items():
        row = by_name.get(name, {})
        bound = late_after(every, settings)
        since = row.get("last_succeeded_at") or row.get("created_at") or row.get("last_started_at")
        expires = row.get("expires_at")
        statuses.append(
            JobStatus(
                name=name,
                every_seconds=every,
                late_after=bound,
                last_started_at=row.get("last_started_at"),
                last_finished_at=row.get("last_finished_at"),
                last_succeeded_at=row.get("last_succeeded_at"),
                last_result=row.get("last_result") or "",
                last_error=row.get("last_error") or "",
                running=expires is not None and expires >= now,
                late=since is not None and now - since > bound,
            )
        )
    return statuses


async def job_status(now: datetime, settings: Settings) -> list[JobStatus]:
    return evaluate(await JobLease.select(), now=now, settings=settings)


async def alert_late_jobs(now: datetime, settings: Settings) -> str:
    """Tell supervisors about each job that became late: once per late spell, not every check.

    A spell ends with the job's next success; the conditional UPDATE on ``late_alerted_at`` is the
    guard, so two processes checking at once send one alert.
    """
    told = []
    for status in await job_status(now, settings):
        if not status.late:
            continue
        async with write_transaction():
            claimed = (
                await JobLease.update({JobLease.late_alerted_at: now})
                .where(
                    (JobLease.name == status.name)
                    & (
                        JobLease.late_alerted_at.is_null()
                        | (
                            JobLease.last_succeeded_at.is_not_null()
                            & (JobLease.late_alerted_at < JobLease.last_succeeded_at)
                        )
                    )
                )
                .returning(JobLease.id)
            )
            if claimed:
                with use_locale(SOURCE_LOCALE):
                    label = job_label(status.name)
                await notify_job_late(label, now=now)
                told.append(status.name)
    return f"late: {', '.join(told)}" if told else ""
