"""The words of a complaint: classifications, privacy levels, statuses, channels.

Codes are stored; labels are what users read (Bahasa Indonesia source text, translated by gettext).
"""

from __future__ import annotations

from web.i18n import _, per_locale

CLASSIFICATIONS = ("pengaduan", "aspirasi", "informasi")
PRIVACY_LEVELS = ("publik", "anonim", "rahasia")
CHANNELS = ("pwa", "telepon", "datang", "lapor", "112")

# Statuses users see (docs/glossary.md). The workflow issue adds the transitions between them.
STATUS_RECEIVED = "received"
STATUSES = (
    "received",
    "verified",
    "dispatched",
    "in_progress",
    "resolved",
    "closed",
    "rejected",
    "duplicate",
    "returned",
    "reopened",
)


@per_locale
def classification_label(code: str) -> str:
    return {
        "pengaduan": _("Pengaduan"),
        "aspirasi": _("Aspirasi"),
        "informasi": _("Permintaan informasi"),
    }.get(code, code)


@per_locale
def classification_hint(code: str) -> str:
    return {
        "pengaduan": _("Ada masalah yang perlu ditangani, misalnya jalan berlubang."),
        "aspirasi": _("Saran atau usulan untuk kota."),
        "informasi": _("Pertanyaan tentang layanan atau data kota."),
    }.get(code, "")


@per_locale
def privacy_label(code: str) -> str:
    return {
        "publik": _("Publik"),
        "anonim": _("Anonim"),
        "rahasia": _("Rahasia"),
    }.get(code, code)


@per_locale
def privacy_hint(code: str) -> str:
    return {
        "publik": _("Laporan dapat dilihat publik; nama Anda hanya dilihat petugas."),
        "anonim": _(
            "Laporan dapat dilihat publik, tetapi identitas Anda disembunyikan dari OPD dan publik."
        ),
        "rahasia": _("Laporan tidak ditampilkan ke publik."),
    }.get(code, "")


@per_locale
def status_label(code: str) -> str:
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
