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
from web.vocabulary import STATUSES, status_label

TERMINAL = frozenset({"rejected", "duplicate"})
OPEN_STATUSES = frozenset(STATUSES) - {"closed", "rejected", "duplicate"}
WITH_OPD = frozenset({"dispatched", "in_progress"})
# Done by the OPD: waiting for the citizen's confirmation, or closed (what reports count as done).
DONE = frozenset({"resolved", "closed"})

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
class Rule:
    action: Action
    sources: frozenset[str]
    target: str | None  # None: the status stays as it is
    roles: frozenset[str]
    needs_note: bool = False
    public: bool = True  # whether the timeline event is shown to the citizen


_OPERATORS = frozenset({"operator", "admin"})
_OPD = frozenset({"opd_staff"})
_CITIZEN = frozenset({"citizen"})

RULES: dict[Action, Rule] = {
    rule.action: rule
    for rule in (
        Rule(Action.VERIFY, frozenset({"received"}), "verified", _OPERATORS),
        Rule(
            Action.REJECT,
            frozenset({"received", "verified", "returned", "reopened"}),
            "rejected",
            _OPERATORS,
            needs_note=True,
        ),
        Rule(Action.MARK_DUPLICATE, frozenset({"received", "verified"}), "duplicate", _OPERATORS),
        Rule(
            Action.DISPATCH,
            frozenset({"verified", "returned", "reopened"}),
            "dispatched",
            _OPERATORS,
        ),
        Rule(Action.START, frozenset({"dispatched"}), "in_progress", _OPD),
        Rule(Action.FOLLOW_UP, WITH_OPD, "in_progress", _OPD, needs_note=True),
        Rule(Action.RESOLVE, WITH_OPD, "resolved", _OPD, needs_note=True),
        Rule(Action.RETURN_TO_OPERATOR, WITH_OPD, "returned", _OPD, needs_note=True),
        Rule(Action.CLOSE, frozenset({"resolved"}), "closed", _OPERATORS),
        Rule(Action.CONFIRM, frozenset({"resolved"}), "closed", _CITIZEN),
        Rule(
            Action.REOPEN, frozenset({"resolved", "closed"}), "reopened", _CITIZEN, needs_note=True
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
    return {
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
    }.get(action, str(action))


def allowed_actions(status: str, role: str) -> list[Action]:
    """Actions to offer as buttons; inputs (note, OPD, reopen window...) are checked by decide()."""
    return [
        action for action, rule in RULES.items() if role in rule.roles and status in rule.sources
    ]


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
) -> Decision:
    """Check that ``role`` may apply ``action`` to a ticket in ``status`` with these inputs.

    Checks run in a fixed order (action, role, status, inputs) so the message names the first
    problem. ``resolved_at``/``now`` matter only for reopen; ``ticket_id`` only for duplicates.
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
    if status == "rejected":
        return _("Tiket ini sudah ditolak; tidak bisa diubah lagi.")
    if status == "duplicate":
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
