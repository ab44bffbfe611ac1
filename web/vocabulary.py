"""The words of a complaint: classifications, privacy levels, channels, timeline events.

Below every area that shows or tells them (complaints, workflow, notifications, reports, intake,
templates), so that it imports nothing but i18n. Statuses and their labels live with the lifecycle,
in ``web.workflow.status``.

Codes are stored and sent in forms and URLs, always English snake_case; labels are what users read
(Bahasa Indonesia source text, translated by gettext). See README "Naming".
"""

from __future__ import annotations

from web.i18n import _, per_locale

CLASSIFICATIONS = ("complaint", "aspiration", "information")
PRIVACY_LEVELS = ("public", "anonymous", "confidential")
PUBLIC = "public"
CONFIDENTIAL = "confidential"
CHANNELS = ("pwa", "phone", "walk_in", "lapor", "call_112")

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
    }.get(code, code)


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
