"""Who is told what, as one table, and the words they read. Plain Python: no database, no web.

A message is built from ``TicketFacts`` alone (number, title, status), so no payload can carry a
reporter's name, NIK or phone number, whatever the ticket's privacy level. Texts are Indonesian:
recipients have no stored language yet, and Indonesian is every user's language here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from web.i18n import SOURCE_LOCALE, _, use_locale
from web.vocabulary import status_label

CITIZEN = "citizen"  # the ticket's own reporter, if they have an account
OPD = "opd"  # active OPD staff of the ticket's OPD
OPERATORS = "operators"  # command-centre operators
SUPERVISORS = "supervisors"  # leaders who read the daily report

HOUR = 3600
DAY = 24 * HOUR

# Tickets that arrive without an operator having seen them yet. Phone, walk-in and 112 tickets are
# typed in by an operator at the desk: the command centre already knows about those.
ARRIVES_UNSEEN = frozenset({"pwa", "lapor"})


@dataclass(frozen=True)
class TicketFacts:
    """Everything a notification may say about a ticket. Nothing about who reported it."""

    number: str
    title: str
    status: str


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    url: str
    urgency: str  # very-low | low | normal | high (RFC 8030 Urgency header)
    ttl_seconds: int  # how long the push service keeps it for a phone that is offline
    step: str  # the short status phrase a WhatsApp status template carries


@dataclass(frozen=True)
class Told:
    """One row of the table: ``audience`` hears about ``kind`` with this title and delivery."""

    kind: str
    audience: str
    title: Callable[[TicketFacts], str]
    urgency: str
    ttl_seconds: int
    hint: Callable[[], str] | None = None  # a second line: what the recipient can do now


def _citizen_step(kind: str, hint: Callable[[], str] | None = None) -> Told:
    return Told(
        kind,
        CITIZEN,
        lambda t: _("Laporan %(number)s: %(step)s", number=t.number, step=citizen_step(kind)),
        "normal",
        3 * DAY,
        hint,
    )


# The citizen hears every public step of their own ticket (never internal notes, never their own
# action); staff hear what needs them. ``tests/test_notification_rules.py`` checks the table
# against the lifecycle's public flags.
WHO_IS_TOLD: tuple[Told, ...] = (
    _citizen_step("created"),
    Told(
        "created", OPERATORS, lambda t: _("Laporan baru %(number)s", number=t.number), "normal", DAY
    ),
    _citizen_step("verify"),
    _citizen_step("reject"),
    _citizen_step("mark_duplicate"),
    _citizen_step("dispatch"),
    Told("dispatch", OPD, lambda t: _("Disposisi baru %(number)s", number=t.number), "high", DAY),
    _citizen_step("start"),
    _citizen_step("follow_up"),
    _citizen_step(
        "resolve", lambda: _("Periksa hasilnya, lalu konfirmasi atau buka kembali laporan Anda.")
    ),
    _citizen_step("return_to_operator"),
    Told(
        "return_to_operator",
        OPERATORS,
        lambda t: _("Dikembalikan OPD: %(number)s", number=t.number),
        "normal",
        DAY,
    ),
    _citizen_step("close"),
    _citizen_step("confirm"),
    _citizen_step("reopen"),
    Told(
        "reopen",
        OPERATORS,
        lambda t: _("Dibuka kembali oleh pelapor: %(number)s", number=t.number),
        "normal",
        DAY,
    ),
    Told(
        "sla_near_breach",
        OPD,
        lambda t: _("Hampir lewat batas waktu: %(number)s", number=t.number),
        "high",
        DAY,
    ),
    _citizen_step("sla_overdue"),
    Told(
        "sla_overdue",
        SUPERVISORS,
        lambda t: _("Lewat batas waktu: %(number)s", number=t.number),
        "high",
        DAY,
    ),
)


def citizen_step(kind: str) -> str:
    """The step as the citizen reads it (also the WhatsApp template's status parameter)."""
    return {
        "created": lambda: _("diterima"),
        "verify": lambda: _("diverifikasi operator"),
        "reject": lambda: _("ditolak"),
        "mark_duplicate": lambda: _("ditandai sama dengan laporan lain"),
        "dispatch": lambda: _("diteruskan ke OPD"),
        "start": lambda: _("mulai ditangani OPD"),
        "follow_up": lambda: _("ada tindak lanjut dari OPD"),
        "resolve": lambda: _("diselesaikan OPD"),
        "return_to_operator": lambda: _("dikembalikan ke operator"),
        "close": lambda: _("selesai"),
        "confirm": lambda: _("selesai"),
        "reopen": lambda: _("dibuka kembali"),
        "sla_overdue": lambda: _("melewati batas waktu, diteruskan ke pimpinan"),
    }.get(kind, lambda: status_label(kind))()


def audiences(kind: str, *, channel: str) -> frozenset[str]:
    """Who hears about ``kind`` on a ticket that came in through ``channel``."""
    told = {row.audience for row in WHO_IS_TOLD if row.kind == kind}
    if kind == "created" and channel not in ARRIVES_UNSEEN:
        told.discard(OPERATORS)
    return frozenset(told)


def ticket_url(audience: str, number: str) -> str:
    """The page that opens when the notification is tapped, for this kind of recipient."""
    if audience == CITIZEN:
        return f"/laporan/{number}"
    if audience == OPD:
        return f"/opd/tiket/{number}"
    return f"/operator/tiket/{number}"


def report_url(day: date) -> str:
    return f"/pimpinan/laporan?tanggal={day.isoformat()}"


def ticket_message(kind: str, audience: str, ticket: TicketFacts) -> Message:
    row = next((r for r in WHO_IS_TOLD if r.kind == kind and r.audience == audience), None)
    if row is None:
        raise ValueError(f"{audience} is not told about {kind}")
    with use_locale(SOURCE_LOCALE):
        lines = [ticket.title, _("Status: %(status)s", status=status_label(ticket.status))]
        if row.hint:
            lines.append(row.hint())
        return Message(
            title=row.title(ticket)[:120],
            body="\n".join(lines)[:400],
            url=ticket_url(audience, ticket.number),
            urgency=row.urgency,
            ttl_seconds=row.ttl_seconds,
            step=citizen_step(kind)[:400],
        )


def report_message(day: date) -> Message:
    with use_locale(SOURCE_LOCALE):
        shown = day.strftime("%d-%m-%Y")
        return Message(
            title=_("Laporan harian %(day)s siap", day=shown),
            body=_("Angka per OPD untuk %(day)s sudah bisa dibaca.", day=shown),
            url=report_url(day),
            urgency="low",
            ttl_seconds=DAY,
            step="",
        )


def sign_in_attack_message(username: str) -> Message:
    with use_locale(SOURCE_LOCALE):
        return Message(
            title=_("Percobaan masuk mencurigakan"),
            body=_(
                "Banyak kata sandi salah untuk akun %(username)s dari berbagai alamat.",
                username=username,
            ),
            url="/admin#sign-in-warnings",
            urgency="high",
            ttl_seconds=DAY,
            step="",
        )


def job_late_message(label: str) -> Message:
    """Supervisors: a background job (``label``, already in Indonesian) has not succeeded lately."""
    with use_locale(SOURCE_LOCALE):
        return Message(
            title=_("Pekerjaan latar terlambat"),
            body=_("%(job)s belum berhasil berjalan sejak lama. Periksa proses worker.", job=label),
            url="/admin/pekerjaan",
            urgency="high",
            ttl_seconds=DAY,
            step="",
        )


def push_topic(number: str | None, kind: str) -> str:
    """RFC 8030 Topic: a newer message with the same topic replaces an undelivered older one.

    At most 32 characters of the URL-safe base64 alphabet.
    """
    return re.sub(r"[^A-Za-z0-9_-]", "", number or kind)[:32]
