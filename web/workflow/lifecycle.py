"""The complaint lifecycle as one table: action -> source statuses, target, roles, inputs.

``decide()`` is the only gate: it checks the role, the current status and the inputs an action
needs, and either returns a ``Decision`` to store or raises ``TransitionRefused`` with a message
for the user. It knows roles, not people: the caller checks that a citizen is the ticket's own
reporter and that OPD staff belong to the ticket's OPD.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from web.errors import UserError
from web.i18n import _, per_locale
from web.staff.policy import CITIZEN as _CITIZEN
from web.staff.policy import OPD_STAFF as _OPD
from web.staff.policy import OPERATORS as _OPERATORS
from web.vocabulary import status_label
from web.workflow.sla import near_breach_from, sla_due_at
from web.workflow.status import DONE, STATUSES, TERMINAL, WITH_OPD, Status

DEFAULT_REOPEN_WINDOW_DAYS = 7


class Action(StrEnum):
    VERIFY = "verify"
    REJECT = "reject"
    MARK_DUPLICATE = "mark_duplicate"
    DISPATCH = "dispatch"
    START = "start"
    FOLLOW_UP = "follow_up"
    RESOLVE = "resolve"
    RETURN_TO_OPERATOR = "return_to_operator"
    CLOSE = "close"
    CONFIRM = "confirm"
    REOPEN = "reopen"
    ADD_NOTE = "add_note"


@dataclass(frozen=True)
class Inputs:
    """What an action's effects may read: the moment, the ticket as loaded, the action's inputs."""

    now: datetime
    sla_hours: int
    first_response_at: datetime | None
    opd_id: int | None = None
    duplicate_of: int | None = None


Changes = dict[str, object]  # complaint column name -> new value


def _start_sla_clock(given: Inputs) -> Changes:
    due = sla_due_at(given.now, given.sla_hours)
    return {
        "opd": given.opd_id,
        "sla_started_at": given.now,
        "sla_warn_at": near_breach_from(given.now, due),
        "sla_due_at": due,
        # A new SLA clock: the SLA job may escalate this ticket again.
        "sla_near_marked_at": None,
        "sla_overdue_marked_at": None,
    }


def _link_original(given: Inputs) -> Changes:
    return {"duplicate_of": given.duplicate_of}


@dataclass(frozen=True)
class Rule:
    action: Action
    sources: frozenset[str]
    target: str | None  # None: the status stays as it is
    roles: frozenset[str]
    needs_note: bool = False
    public: bool = True  # whether the timeline event is shown to the citizen
    # What the action does to the ticket besides its status (see ``ticket_changes``):
    stamps: tuple[str, ...] = ()  # columns set to the moment of the action
    clears: tuple[str, ...] = ()  # columns emptied
    responds: bool = False  # the OPD's first response, if it has not responded yet
    effects: Callable[[Inputs], Changes] | None = None  # changes that need the action's inputs
    takes_photos: bool = False  # proof photos may come with it (only on events the citizen sees)
    # Statuses whose page offers the action, when fewer than ``sources`` (None: all of them).
    offered_in: frozenset[str] | None = None

    def offered(self, status: str, role: str) -> bool:
        return role in self.roles and status in (self.offered_in or self.sources)


# The SLA clock stops when the ticket leaves the OPD other than by resolving it.
_STOP_SLA = ("sla_due_at",)
# Follow-up and resolution are offered once the OPD has started ("Mulai tangani"), so a dispatched
# ticket's page asks first: start it, or return it. They are still accepted on a dispatched ticket
# (an action sent from an older page, a client that skips the start) and move it on as before.
_AFTER_START = frozenset({Status.IN_PROGRESS})

RULES: dict[Action, Rule] = {
    rule.action: rule
    for rule in (
        Rule(Action.VERIFY, frozenset({Status.RECEIVED}), Status.VERIFIED, _OPERATORS),
        Rule(
            Action.REJECT,
            frozenset({Status.RECEIVED, Status.VERIFIED, Status.RETURNED, Status.REOPENED}),
            Status.REJECTED,
            _OPERATORS,
            needs_note=True,
            clears=_STOP_SLA,
        ),
        Rule(
            Action.MARK_DUPLICATE,
            frozenset({Status.RECEIVED, Status.VERIFIED}),
            Status.DUPLICATE,
            _OPERATORS,
            clears=_STOP_SLA,
            effects=_link_original,
        ),
        Rule(
            Action.DISPATCH,
            frozenset({Status.VERIFIED, Status.RETURNED, Status.REOPENED}),
            Status.DISPATCHED,
            _OPERATORS,
            effects=_start_sla_clock,
        ),
        Rule(
            Action.START,
            frozenset({Status.DISPATCHED}),
            Status.IN_PROGRESS,
            _OPD,
            responds=True,
        ),
        Rule(
            Action.FOLLOW_UP,
            WITH_OPD,
            Status.IN_PROGRESS,
            _OPD,
            needs_note=True,
            responds=True,
            takes_photos=True,
            offered_in=_AFTER_START,
        ),
        Rule(
            Action.RESOLVE,
            WITH_OPD,
            Status.RESOLVED,
            _OPD,
            needs_note=True,
            responds=True,
            stamps=("resolved_at",),
            takes_photos=True,
            offered_in=_AFTER_START,
        ),
        Rule(
            Action.RETURN_TO_OPERATOR,
            WITH_OPD,
            Status.RETURNED,
            _OPD,
            needs_note=True,
            clears=_STOP_SLA,
        ),
        Rule(
            Action.CLOSE,
            frozenset({Status.RESOLVED}),
            Status.CLOSED,
            _OPERATORS,
            stamps=("closed_at",),
        ),
        Rule(
            Action.CONFIRM,
            frozenset({Status.RESOLVED}),
            Status.CLOSED,
            _CITIZEN,
            stamps=("closed_at",),
        ),
        Rule(
            Action.REOPEN,
            DONE,
            Status.REOPENED,
            _CITIZEN,
            needs_note=True,
            clears=("resolved_at", "closed_at", "sla_due_at"),
        ),
        Rule(
            Action.ADD_NOTE,
            frozenset(STATUSES) - TERMINAL,
            None,
            _OPERATORS | _OPD,
            needs_note=True,
            public=False,
        ),
    )
}


def ticket_changes(decision: Decision, given: Inputs) -> Changes:
    """The columns ``decision`` changes on the ticket: its status (when it moves), the time of
    the change, and what the action's rule says."""
    rule = RULES[decision.action]
    changes: Changes = {"updated_at": given.now}
    if decision.to_status != decision.from_status:
        changes["status"] = decision.to_status
    if rule.effects:
        changes.update(rule.effects(given))
    if rule.responds and given.first_response_at is None:
        changes["first_response_at"] = given.now
    changes.update(dict.fromkeys(rule.stamps, given.now))
    changes.update(dict.fromkeys(rule.clears))
    return changes


# Labels are functions so they are translated in the locale of the request that reads them.
REJECT_REASONS: dict[str, Callable[[], str]] = {
    "prank": lambda: _("Laporan iseng atau palsu"),
    "insufficient_detail": lambda: _("Keterangan kurang lengkap"),
    "not_city_authority": lambda: _("Bukan wewenang pemerintah kota"),
    "out_of_scope": lambda: _("Di luar cakupan layanan pengaduan"),
}


class TransitionRefused(UserError):
    """The action is not allowed on this ticket now; ``message`` says why."""


@dataclass(frozen=True)
class Decision:
    action: Action
    from_status: str
    to_status: str
    public: bool


@per_locale
def reject_reason_label(code: str) -> str:
    label = REJECT_REASONS.get(code)
    return label() if label else code


@per_locale
def action_label(action: Action | str) -> str:
    labels: dict[str, str] = {
        Action.VERIFY: _("Verifikasi"),
        Action.REJECT: _("Tolak"),
        Action.MARK_DUPLICATE: _("Tandai duplikat"),
        Action.DISPATCH: _("Disposisikan"),
        Action.START: _("Mulai tangani"),
        Action.FOLLOW_UP: _("Kirim tindak lanjut"),
        Action.RESOLVE: _("Tandai selesai"),
        Action.RETURN_TO_OPERATOR: _("Kembalikan ke operator"),
        Action.CLOSE: _("Tutup (selesai terverifikasi)"),
        Action.CONFIRM: _("Konfirmasi selesai"),
        Action.REOPEN: _("Buka kembali"),
        Action.ADD_NOTE: _("Catatan internal"),
    }
    return labels.get(action, str(action))


def allowed_actions(status: str, role: str) -> list[Action]:
    """Actions to offer as buttons (``Rule.offered``); inputs (note, OPD, reopen window...) are
    checked by decide()."""
    return [action for action, rule in RULES.items() if rule.offered(status, role)]


def decide(
    status: str,
    action: Action | str,
    role: str,
    *,
    note: str = "",
    reason_code: str | None = None,
    opd_id: int | None = None,
    duplicate_of: int | None = None,
    ticket_id: int | None = None,
    resolved_at: datetime | None = None,
    now: datetime | None = None,
    reopen_window_days: int = DEFAULT_REOPEN_WINDOW_DAYS,
    with_photos: bool = False,
) -> Decision:
    """Check that ``role`` may apply ``action`` to a ticket in ``status`` with these inputs.

    Checks run in a fixed order (action, role, status, inputs) so the message names the first
    problem. ``resolved_at``/``now`` matter only for reopen; ``ticket_id`` only for duplicates;
    ``with_photos``: proof photos come with the action (only actions that take them).
    """
    try:
        action = Action(action)
    except ValueError:
        raise TransitionRefused(_("Aksi tidak dikenal.")) from None
    rule = RULES[action]
    if role not in rule.roles:
        raise TransitionRefused(_("Peran Anda tidak boleh melakukan ini."))
    if status not in STATUSES:
        raise TransitionRefused(_("Status tiket tidak dikenal."))
    if status not in rule.sources:
        raise TransitionRefused(_wrong_status_message(status, action))

    note = (note or "").strip()
    if rule.needs_note and not note:
        raise TransitionRefused(_missing_note_message(action))
    if with_photos and not rule.takes_photos:
        # A photo on an internal note would be stored where the citizen's photo route reaches it.
        raise TransitionRefused(
            _("Foto hanya bisa dilampirkan pada tindak lanjut atau saat menandai selesai.")
        )
    if action is Action.REJECT:
        if not reason_code:
            raise TransitionRefused(_("Pilih alasan penolakan."))
        if reason_code not in REJECT_REASONS:
            raise TransitionRefused(_("Alasan penolakan tidak dikenal."))
    elif action is Action.MARK_DUPLICATE:
        if duplicate_of is None:
            raise TransitionRefused(_("Sebutkan nomor tiket yang sama dengan laporan ini."))
        if ticket_id is not None and duplicate_of == ticket_id:
            raise TransitionRefused(_("Tiket tidak bisa menjadi duplikat dirinya sendiri."))
    elif action is Action.DISPATCH:
        if opd_id is None:
            raise TransitionRefused(_("Pilih OPD tujuan disposisi."))
    elif action is Action.REOPEN:
        _check_reopen_window(resolved_at, now, reopen_window_days)

    return Decision(
        action=action,
        from_status=status,
        to_status=rule.target or status,
        public=rule.public,
    )


def _check_reopen_window(resolved_at: datetime | None, now: datetime | None, days: int) -> None:
    # Without the resolution time the window cannot be checked; refusing is the safe side.
    if resolved_at is None:
        raise TransitionRefused(
            _("Waktu penyelesaian laporan tidak diketahui; laporan tidak bisa dibuka kembali.")
        )
    now = now or datetime.now(tz=resolved_at.tzinfo)
    if now - resolved_at > timedelta(days=days):
        raise TransitionRefused(
            _("Batas waktu membuka kembali laporan (%(days)s hari) sudah lewat.", days=days)
        )


def _wrong_status_message(status: str, action: Action) -> str:
    if status == Status.REJECTED:
        return _("Tiket ini sudah ditolak; tidak bisa diubah lagi.")
    if status == Status.DUPLICATE:
        return _("Tiket ini sudah ditandai duplikat; tidak bisa diubah lagi.")
    if status == RULES[action].target:
        already = {
            Action.VERIFY: lambda: _("Tiket ini sudah diverifikasi; tidak bisa diverifikasi lagi."),
            Action.DISPATCH: lambda: _("Tiket ini sudah didisposisikan."),
            Action.START: lambda: _("Tiket ini sedang ditangani."),
            Action.RESOLVE: lambda: _("Tiket ini sudah ditandai selesai."),
            Action.RETURN_TO_OPERATOR: lambda: _("Tiket ini sudah dikembalikan ke operator."),
            Action.CLOSE: lambda: _("Tiket ini sudah selesai."),
            Action.CONFIRM: lambda: _("Tiket ini sudah selesai."),
            Action.REOPEN: lambda: _("Tiket ini sudah dibuka kembali."),
        }.get(action)
        if already:
            return already()
    return _(
        '"%(action)s" tidak bisa dilakukan pada tiket berstatus "%(status)s".',
        action=action_label(action),
        status=status_label(status),
    )


def _missing_note_message(action: Action) -> str:
    return {
        Action.REJECT: lambda: _("Tulis alasan penolakan."),
        Action.FOLLOW_UP: lambda: _("Tulis tindak lanjutnya."),
        Action.RESOLVE: lambda: _("Tulis apa yang sudah dikerjakan."),
        Action.RETURN_TO_OPERATOR: lambda: _("Tulis mengapa laporan ini bukan untuk OPD Anda."),
        Action.REOPEN: lambda: _("Tulis mengapa Anda belum puas."),
        Action.ADD_NOTE: lambda: _("Tulis catatannya."),
    }.get(action, lambda: _("Tulis catatan."))()
