"""The operators' shift report: what came in and what the command centre did during one shift.

A shift runs from one of ``ADUAN_SHIFT_STARTS`` to the next (web/intake/service.py holds the
shift clock, shared with the hand-over page). Figures, all over [start, end) of the shift:

- **Masuk** (arrived): tickets created, by channel; those an operator filed count for them.
- **Diverifikasi, Didisposisikan, Ditolak, Duplikat**: the actions taken during the shift (the
  timeline's verify, dispatch, reject and mark-as-duplicate events), by the operator who took
  them. A ticket that arrived in an earlier shift counts where it was acted on.
- **112**: calls logged, by kind and by operator.

Four grouped queries whatever the number of operators or tickets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from db.tables import Complaint, StaffUser
from web.http import BadDate, parse_day
from web.i18n import _
from web.intake.service import CALL_KINDS, shift_window
from web.reports.periods import PeriodError
from web.vocabulary import CHANNELS

ACTIONS = {
    "verify": "verified",
    "dispatch": "dispatched",
    "reject": "rejected",
    "mark_duplicate": "duplicates",
}


@dataclass
class OperatorRow:
    staff_id: int | None
    name: str
    filed: int = 0
    verified: int = 0
    dispatched: int = 0
    rejected: int = 0
    duplicates: int = 0
    calls: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CALL_KINDS, 0))


@dataclass
class ShiftReport:
    start: datetime
    end: datetime
    as_of: datetime
    arrived: int
    arrived_by_channel: dict[str, int]
    actions: dict[str, int]  # verified, dispatched, rejected, duplicates
    calls: dict[str, int]
    operators: list[OperatorRow]

    @property
    def running(self) -> bool:
        return self.as_of < self.end


def choose_shift(
    params: dict[str, str], *, now: datetime, tz: ZoneInfo, starts: list[time]
) -> tuple[datetime, datetime]:
    """The shift named by ``?tanggal=&shift=HH:MM`` (its start), else the one running now.

    Raises PeriodError with Indonesian messages for a bad day, an unknown start or a future shift.
    """
    day_raw = (params.get("tanggal") or "").strip()
    shift_raw = (params.get("shift") or "").strip()
    if not day_raw and not shift_raw:
        return shift_window(now, tz, starts)
    try:
        day = parse_day(day_raw) if day_raw else now.astimezone(tz).date()
    except BadDate as exc:
        raise PeriodError({"tanggal": exc.message}) from None
    try:
        begins = time.fromisoformat(shift_raw) if shift_raw else starts[0]
    except ValueError:
        begins = None
    if begins not in starts:
        raise PeriodError({"shift": _("Pilih salah satu shift.")})
    start = datetime.combine(day, begins, tz)
    if start > now:
        raise PeriodError({"tanggal": _("Shift itu belum dimulai.")})
    return shift_window(start, tz, starts)


async def shift_report(start: datetime, end: datetime, *, now: datetime) -> ShiftReport:
    window = [start.astimezone(UTC), end.astimezone(UTC)]
    arrivals = await Complaint.raw(
        "SELECT channel, filed_by_staff AS staff, count(*) AS n FROM complaint "
        "WHERE created_at >= {} AND created_at < {} GROUP BY channel, filed_by_staff",
        *window,
    )
    events = await Complaint.raw(
        "SELECT kind, actor_staff AS staff, count(*) AS n FROM timeline_event "
        "WHERE created_at >= {} AND created_at < {} "
        "AND kind IN ('verify', 'dispatch', 'reject', 'mark_duplicate') GROUP BY kind, actor_staff",
        *window,
    )
    calls = await Complaint.raw(
        "SELECT kind, operator AS staff, count(*) AS n FROM call_log "
        "WHERE created_at >= {} AND created_at < {} GROUP BY kind, operator",
        *window,
    )
    staff_ids = {row["staff"] for row in (*arrivals, *events, *calls) if row["staff"] is not None}
    names: dict[int, str] = {}
    if staff_ids:
        staff = await StaffUser.select(StaffUser.id, StaffUser.name).where(
            StaffUser.id.is_in(sorted(staff_ids))
        )
        names = {row["id"]: row["name"] for row in staff}

    operators: dict[int, OperatorRow] = {}

    def operator(staff_id: int | None) -> OperatorRow | None:
        if staff_id is None:  # citizens' own filings and system actions belong to no operator
            return None
        if staff_id not in operators:
            operators[staff_id] = OperatorRow(staff_id, names.get(staff_id, f"#{staff_id}"))
        return operators[staff_id]

    by_channel = dict.fromkeys(CHANNELS, 0)
    for row in arrivals:
        by_channel[row["channel"]] = by_channel.get(row["channel"], 0) + int(row["n"])
        if (who := operator(row["staff"])) is not None:
            who.filed += int(row["n"])
    actions = dict.fromkeys(ACTIONS.values(), 0)
    for row in events:
        name = ACTIONS[row["kind"]]
        actions[name] += int(row["n"])
        if (who := operator(row["staff"])) is not None:
            setattr(who, name, getattr(who, name) + int(row["n"]))
    call_totals = dict.fromkeys(CALL_KINDS, 0)
    for row in calls:
        call_totals[row["kind"]] = call_totals.get(row["kind"], 0) + int(row["n"])
        if (who := operator(row["staff"])) is not None:
            who.calls[row["kind"]] = who.calls.get(row["kind"], 0) + int(row["n"])
    return ShiftReport(
        start=start,
        end=end,
        as_of=min(now, end),
        arrived=sum(by_channel.values()),
        arrived_by_channel=by_channel,
        actions=actions,
        calls=call_totals,
        operators=sorted(operators.values(), key=lambda o: o.name.lower()),
    )
