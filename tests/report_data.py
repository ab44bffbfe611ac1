"""A varied, reproducible set of tickets and 112 calls for the report tests.

Times spread across the report period and well outside it; statuses of every kind; tickets
resolved on time and late; overdue ones; responses before a re-dispatch; channels and privacy
levels mixed; exact coordinates (which the public page must round).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from db.tables import CallLog, Category, Complaint, Kelurahan, Opd
from web.vocabulary import CHANNELS, PRIVACY_LEVELS

WITH_DISPATCH = ("dispatched", "in_progress", "resolved", "closed", "returned", "reopened")
NEVER_DISPATCHED = ("received", "verified", "rejected", "duplicate")
CALL_KINDS = ("normal", "informative", "prank")


@dataclass
class Dataset:
    tickets: int
    calls: int
    opd_ids: list[int]


async def _reference():
    categories = await Category.select(Category.id, Category.default_opd)
    kelurahan = await Kelurahan.select(Kelurahan.id, Kelurahan.latitude, Kelurahan.longitude)
    opds = [o["id"] for o in await Opd.select(Opd.id).order_by(Opd.id)]
    return categories, kelurahan, opds


async def make_dataset(
    *,
    seed: int,
    start: datetime,
    end: datetime,
    now: datetime,
    tickets: int = 320,
    calls: int = 80,
    opd_count: int = 14,
    prefix: str = "TST",
) -> Dataset:
    """Tickets created from 25 days before ``start`` up to ``now``; ``opd_count`` OPDs get some."""
    rng = random.Random(seed)
    categories, kelurahan, all_opds = await _reference()
    opd_ids = all_opds[:opd_count]
    span_start = start - timedelta(days=25)
    span = (now - span_start).total_seconds()

    def moment(base: datetime, max_hours: float) -> datetime:
        return min(now, base + timedelta(seconds=rng.uniform(0, max_hours * 3600)))

    rows = []
    for i in range(tickets):
        created = span_start + timedelta(seconds=rng.uniform(0, span))
        category = rng.choice(categories)
        status = rng.choice(WITH_DISPATCH * 3 + NEVER_DISPATCHED)
        place = rng.choice(kelurahan) if rng.random() < 0.85 else None
        ticket = {
            "created_at": created,
            "updated_at": created,
            "status": status,
            "opd": None,
            "sla_started_at": None,
            "sla_warn_at": None,
            "sla_due_at": None,
            "first_response_at": None,
            "resolved_at": None,
            "closed_at": None,
        }
        if status in WITH_DISPATCH or (status == "rejected" and rng.random() < 0.3):
            started = moment(created, 60)
            due = started + timedelta(hours=rng.choice((24, 48, 72)))
            ticket.update(
                opd=rng.choice(opd_ids),
                sla_started_at=started,
                sla_warn_at=due - timedelta(hours=5),
                sla_due_at=due,
            )
            if status in ("in_progress", "resolved", "closed") or rng.random() < 0.2:
                if rng.random() < 0.1:
                    # Answered before a later re-dispatch: not a response to this dispatch.
                    ticket["first_response_at"] = started - timedelta(hours=rng.uniform(1, 30))
                elif status != "dispatched":
                    ticket["first_response_at"] = moment(started, 40)
            if status in ("resolved", "closed"):
                # Some on time, some late (up to twice the SLA window).
                ticket["resolved_at"] = moment(started, rng.choice((24, 48, 72, 140)))
                if ticket["first_response_at"] is None:
                    ticket["first_response_at"] = ticket["resolved_at"]
                if status == "closed":
                    ticket["closed_at"] = moment(ticket["resolved_at"], 24)
            if status in ("returned", "reopened", "rejected"):
                ticket["sla_due_at"] = None  # cleared by the workflow
        events = ("created_at", "sla_started_at", "first_response_at", "resolved_at", "closed_at")
        ticket["updated_at"] = max(ticket[k] for k in events if ticket[k] is not None)
        rows.append(
            Complaint(
                number=f"{prefix}-2026-{seed:02d}{i:05d}",
                client_key=uuid.UUID(int=rng.getrandbits(128)),
                classification="complaint",
                category=category["id"],
                title=f"Laporan uji {prefix} {i}",
                description=f"Deskripsi pribadi {prefix} {i}",
                reporter_name=f"Pelapor Rahasia {i}",
                latitude=(place["latitude"] + rng.uniform(-0.004, 0.004)) if place else None,
                longitude=(place["longitude"] + rng.uniform(-0.004, 0.004)) if place else None,
                kelurahan=place["id"] if place else None,
                privacy=rng.choice(PRIVACY_LEVELS),
                channel=rng.choice(CHANNELS),
                **ticket,
            )
        )
    for batch in range(0, len(rows), 100):
        await Complaint.insert(*rows[batch : batch + 100])
    call_rows = [
        CallLog(
            kind=rng.choice(CALL_KINDS),
            note="",
            created_at=span_start + timedelta(seconds=rng.uniform(0, span)),
        )
        for _ in range(calls)
    ]
    if call_rows:
        await CallLog.insert(*call_rows)
    return Dataset(tickets=tickets, calls=calls, opd_ids=opd_ids)


def utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)
