"""The words of a complaint: classifications, privacy levels, channels, timeline events.

Below every area that shows or tells them (complaints, workflow, notifications, reports, intake,
templates), so that it imports nothing but i18n. Statuses and their labels live with the lifecycle,
in ``web.workflow.status``.

Codes are stored and sent in forms and URLs, always English snake_case; labels are what users read
(Bahasa Indonesia source text, translated by gettext). See README "Naming".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from web.i18n import _, get_locale, per_locale

CLASSIFICATIONS = ("complaint", "aspiration", "information")
PRIVACY_LEVELS = ("public", "anonymous", "confidential")
PUBLIC = "public"
CONFIDENTIAL = "confidential"
CHANNELS = ("pwa", "phone", "walk_in", "lapor", "call_112", "api")

# The Indonesian codes used before the naming rule (migration 2026-11-30T02:00). Phones still hold
# outbox items queued with them, which never expire, and open forms or cached pages send them, so
# forms accept them as the new code. Keep until no phone can hold an item from before that release.
OLD_CODES = {
    "pengaduan": "complaint",
    "aspirasi": "aspiration",
    "informasi": "information",
    "publik": "public",
    "anonim": "anonymous",
    "rahasia": "confidential",
    "telepon": "phone",
    "datang": "walk_in",
    "112": "call_112",
}


def current_code(value: str) -> str:
    """``value`` with a pre-rename code replaced by its current one (anything else unchanged)."""
    return OLD_CODES.get(value, value)


def old_codes_of(code: str) -> tuple[str, ...]:
    """The pre-rename codes that mean ``code`` (for a form restoring an old queued item)."""
    return tuple(old for old, new in OLD_CODES.items() if new == code)


@per_locale
def classification_label(code: str) -> str:
    return {
        "complaint": _("Pengaduan"),
        "aspiration": _("Aspirasi"),
        "information": _("Permintaan informasi"),
    }.get(code, code)


@per_locale
def classification_hint(code: str) -> str:
    return {
        "complaint": _("Ada masalah yang perlu ditangani, misalnya jalan berlubang."),
        "aspiration": _("Saran atau usulan untuk kota."),
        "information": _("Pertanyaan tentang layanan atau data kota."),
    }.get(code, "")


@per_locale
def privacy_label(code: str) -> str:
    return {
        "public": _("Publik"),
        "anonymous": _("Anonim"),
        "confidential": _("Rahasia"),
    }.get(code, code)


@per_locale
def privacy_hint(code: str) -> str:
    return {
        "public": _("Laporan dapat dilihat publik; nama Anda hanya dilihat petugas."),
        "anonymous": _(
            "Laporan dapat dilihat publik, tetapi identitas Anda disembunyikan dari OPD dan publik."
        ),
        "confidential": _("Laporan tidak ditampilkan ke publik."),
    }.get(code, "")


@per_locale
def channel_label(code: str) -> str:
    return {
        "pwa": _("Aplikasi"),
        "phone": _("Telepon"),
        "walk_in": _("Datang langsung"),
        "lapor": _("SP4N-LAPOR!"),
        "call_112": _("Call Center 112"),
        "api": _("Sistem lain (API)"),
    }.get(code, code)


def channel_text(code: str, api_client: str | None = None) -> str:
    """The channel as staff read it: a ticket from another system names that system's client."""
    if code == "api" and api_client:
        return _("API — %(client)s", client=api_client)
    return channel_label(code)


@per_locale
def status_label(code: str) -> str:
    """Keyed by the codes of ``web.workflow.status.Status``; here, below the workflow, because
    notifications (which the workflow calls) say statuses too."""
    return {
        "received": _("Belum diverifikasi"),
        "verified": _("Diverifikasi"),
        "dispatched": _("Didisposisikan"),
        "in_progress": _("Ditindaklanjuti"),
        "resolved": _("Menunggu konfirmasi"),
        "closed": _("Selesai"),
        "rejected": _("Ditolak"),
        "duplicate": _("Duplikat"),
        "returned": _("Dikembalikan OPD"),
        "reopened": _("Dibuka kembali"),
    }.get(code, code)


@per_locale
def event_label(kind: str) -> str:
    return {
        "created": _("Laporan diterima"),
        "verify": _("Diverifikasi operator"),
        "reject": _("Ditolak"),
        "mark_duplicate": _("Ditandai duplikat"),
        "dispatch": _("Didisposisikan ke OPD"),
        "start": _("Mulai ditangani OPD"),
        "follow_up": _("Tindak lanjut OPD"),
        "resolve": _("Diselesaikan OPD"),
        "return_to_operator": _("Dikembalikan ke operator"),
        "close": _("Selesai (diverifikasi operator)"),
        "confirm": _("Selesai (dikonfirmasi pelapor)"),
        "reopen": _("Dibuka kembali oleh pelapor"),
        "add_note": _("Catatan internal"),
        "rated": _("Penilaian pelapor"),
        "sla_near_breach": _("Peringatan: hampir lewat batas waktu"),
        "sla_overdue": _("Lewat batas waktu, diteruskan ke pimpinan"),
    }.get(kind, kind)


def localized(row: Mapping[str, Any] | object, field: str) -> str:
    """A name the city's data file gives in two languages (a category's): ``row[field + "_en"]``
    for an English page when the file has one, else the Indonesian ``row[field]``. ``row``: a
    query row, or an object with those attributes."""

    def value(key: str) -> Any:
        return row.get(key) if isinstance(row, Mapping) else getattr(row, key, None)

    english = value(f"{field}_en") if get_locale() == "en" else None
    return str(english or value(field) or "")


def done_notice(code: str | None, number: str) -> str | None:
    """The confirmation shown at the top of the page a successful action leads to (the redirect's
    ``?aksi=`` names the action: a workflow action's code, or "rate"); None for anything else."""
    notices = {
        "start": lambda: _("Tiket %(number)s sekarang Anda tangani.", number=number),
        "follow_up": lambda: _(
            "Tindak lanjut untuk tiket %(number)s tersimpan dan dikirim ke pelapor.", number=number
        ),
        "add_note": lambda: _("Catatan internal pada tiket %(number)s tersimpan.", number=number),
        "resolve": lambda: _(
            "Tiket %(number)s ditandai selesai. Pelapor diminta mengonfirmasi hasilnya.",
            number=number,
        ),
        "return_to_operator": lambda: _(
            "Tiket %(number)s dikembalikan ke operator.", number=number
        ),
        "confirm": lambda: _(
            "Terima kasih. Laporan %(number)s sudah Anda konfirmasi selesai.", number=number
        ),
        "reopen": lambda: _(
            "Laporan %(number)s dibuka kembali. Operator akan menindaklanjutinya.", number=number
        ),
        "rate": lambda: _(
            "Terima kasih atas penilaian Anda untuk laporan %(number)s.", number=number
        ),
    }
    notice = notices.get(code or "")
    return notice() if notice else None
