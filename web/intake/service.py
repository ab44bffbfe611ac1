"""Rules for the command centre's own records: 112 calls and what a shift hands over."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from piccolo.query.functions.aggregate import Count

from db.engine import write_transaction
from db.tables import CallLog, Complaint
from web import audit
from web.forms import FormErrors, text_errors
from web.i18n import _, per_locale
from web.workflow.sla import SlaState, sla_condition
from web.workflow.status import Status

CALL_KINDS = ("normal", "informative", "prank")
HANDOVER_LIMIT = 50


@per_locale
def call_kind_label(kind: str) -> str:
    return {"normal": _("Normal"), "informative": _("Informatif"), "prank": _("Iseng / prank")}.get(
        kind, kind
    )


async def log_call(*, kind: str, note: str, operator_id: int) -> None:
    if kind not in CALL_KINDS:
        raise FormErrors.single("kind", _("Pilih jenis panggilan."))
    if errors := text_errors({"call_note": note}):
        raise FormErrors({"note": errors["call_note"]})
    now = datetime.now(UTC)
    async with write_transaction():
        rows = await CallLog.insert(
            CallLog(kind=kind, note=note.strip(), operator=operator_id, created_at=now)
        ).returning(CallLog.id)
        await audit.record(
            "call112.logged",
            actor_kind="staff",
            actor_id=operator_id,
            subject=f"call:{rows[0]['id']}",
            kind=kind,
        )


def day_bounds(day: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day.astimezone(tz).date(), time.min, tz)
    return start, start + timedelta(days=1)


async def call_counts(start: datetime, end: datetime) -> dict[str, int]:
    """Calls per kind in [start, end): one grouped query."""
    rows = (
        await CallLog.select(CallLog.kind, Count(alias="n"))
        .where(
            (CallLog.created_at >= start.astimezone(UTC))
            & (CallLog.created_at < end.astimezone(UTC))
        )
        .group_by(CallLog.kind)
    )
    counts = dict.fromkeys(CALL_KINDS, 0)
    counts.update({row["kind"]: row["n"] for row in rows})
    return counts


async def recent_calls(limit: int = 20) -> list[dict]:
    return (
        await CallLog.select(
            CallLog.kind,
            CallLog.note,
            CallLog.created_at,
            CallLog.operator.name.as_alias("operator_name"),
        )
        .order_by(CallLog.id, ascending=False)
        .limit(limit)
    )


def shift_start(now: datetime, tz: ZoneInfo, starts: list[time]) -> datetime:
    """When the shift running at ``now`` began (shifts wrap around midnight)."""
    local = now.astimezone(tz)
    candidates = []
    for offset in (0, -1):
        day = local.date() + timedelta(days=offset)
        candidates += [datetime.combine(day, start, tz) for start in starts]
    return max(c for c in candidates if c <= local)


def shift_window(at: datetime, tz: ZoneInfo, starts: list[time]) -> tuple[datetime, datetime]:
    """The shift running at ``at``: when it began and when the next one begins."""
    start = shift_start(at, tz, starts)
    day = start.astimezone(tz).date()
    following = [
        datetime.combine(day + timedelta(days=offset), s, tz) for offset in (0, 1) for s in starts
    ]
    return start, min(c for c in following if c > start)


def parse_shift_starts(raw: str) -> list[time]:
    return sorted(time.fromisoformat(part.strip()) for part in raw.split(",") if part.strip())


async def handover(now: datetime, since: datetime) -> dict:
    """What one shift hands to the next: arrivals this shift, still unverified, near or past the SLA."""
    columns = (
        Complaint.number,
        Complaint.title,
        Complaint.status,
        Complaint.created_at,
        Complaint.sla_due_at,
        Complaint.category.name.as_alias("category_name"),
        Complaint.category.name_en.as_alias("category_name_en"),
        Complaint.opd.short_name.as_alias("opd_name"),
    )
    arrived = (
        await Complaint.select(*columns)
        .where(Complaint.created_at >= since.astimezone(UTC))
        .order_by(Complaint.id, ascending=False)
        .limit(HANDOVER_LIMIT)
    )
    unverified = (
        await Complaint.select(*columns)
        .where(Complaint.status == Status.RECEIVED)
        .order_by(Complaint.id)
        .limit(HANDOVER_LIMIT)
    )
    near_breach = (
        await Complaint.select(*columns)
        .where(sla_condition(SlaState.NEAR_BREACH, now))
        .order_by(Complaint.sla_due_at)
        .limit(HANDOVER_LIMIT)
    )
    overdue = (
        await Complaint.select(*columns)
        .where(sla_condition(SlaState.OVERDUE, now))
        .order_by(Complaint.sla_due_at)
        .limit(HANDOVER_LIMIT)
    )
    return {
        "arrived": arrived,
        "unverified": unverified,
        "near_breach": near_breach,
        "overdue": overdue,
    }
