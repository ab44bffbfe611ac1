"""The leaders' report as CSV and XLSX: the same sections, headers and figures as the page.

CSV: UTF-8 with a byte-order mark (so Excel detects the encoding), ``;`` between fields and a
decimal comma, as Excel expects them with Indonesian regional settings. XLSX: one sheet per
section, real numbers in the cells.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font

from web.i18n import _
from web.intake.service import call_kind_label
from web.reports.figures import OpdFigures, Report
from web.vocabulary import channel_label, channel_text

Value = int | float | str | None


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    header: list[str]
    rows: list[list[Value]]


def rounded(value: float | None) -> float | None:
    """Percentages and hours are shown with one decimal, everywhere."""
    return None if value is None else round(value, 1)


def opd_header() -> list[str]:
    return [
        _("Peringkat"),
        _("OPD"),
        _("Diterima"),
        _("Selesai"),
        _("Dalam proses"),
        _("Belum ditindaklanjuti"),
        _("Terlambat"),
        _("Selesai tepat waktu"),
        _("Kepatuhan SLA (%)"),
        _("Median respons pertama (jam)"),
        _("Median penyelesaian (jam)"),
        _("Lambat"),
    ]


def opd_row(row: OpdFigures, name: str | None = None) -> list[Value]:
    return [
        row.rank,
        name or row.name,
        row.received,
        row.done,
        row.in_process,
        row.not_followed_up,
        row.overdue,
        row.done_on_time,
        rounded(row.compliance),
        rounded(row.median_first_response_hours),
        rounded(row.median_resolution_hours),
        _("ya") if row.received and row.slow else "",
    ]


def sections(report: Report) -> list[Section]:
    calls_total = sum(report.calls.values())
    channels: list[list[Value]] = []
    for code, n in report.channels.items():
        channels.append([channel_label(code), n])
        if code == "api":  # then each client that filed, under its own name
            channels += [
                [channel_text(code, client), m] for client, m in report.api_clients.items()
            ]
    calls: list[list[Value]] = [[call_kind_label(kind), n] for kind, n in report.calls.items()]
    calls.append([_("Total"), calls_total])
    return [
        Section(
            "opd",
            _("Per OPD"),
            opd_header(),
            [opd_row(row) for row in report.opds] + [opd_row(report.total, _("Total kota"))],
        ),
        Section(
            "city",
            _("Ringkasan kota"),
            [_("Uraian"), _("Jumlah")],
            [
                [_("Laporan masuk"), report.city.created],
                [_("Belum diverifikasi"), report.city.unverified],
                [_("Ditolak"), report.city.rejected],
                [_("Duplikat"), report.city.duplicates],
            ],
        ),
        Section(
            "channels",
            _("Kanal"),
            [_("Kanal"), _("Jumlah")],
            channels,
        ),
        Section(
            "calls",
            _("Call Center 112"),
            [_("Jenis panggilan"), _("Jumlah")],
            calls,
        ),
        Section(
            "trend",
            _("Tren 30 hari"),
            [_("Tanggal"), _("Masuk"), _("Selesai")],
            [[d.day.isoformat(), d.created, d.resolved] for d in report.trend],
        ),
    ]


def _info(report: Report, city_name: str, tz: ZoneInfo) -> list[list[str]]:
    def local(moment: datetime) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    info = [
        [_("Laporan pengaduan"), city_name],
        [_("Periode"), report.first_day.isoformat(), report.last_day.isoformat()],
        [_("Dihitung pada"), local(report.computed_at)],
    ]
    if report.generated_at:
        info.append([_("Laporan harian dibuat"), local(report.generated_at)])
    return info


def _csv_value(value: Value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    return str(value)


def to_csv(report: Report, *, city_name: str, tz: ZoneInfo) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerows(_info(report, city_name, tz))
    for section in sections(report):
        writer.writerow([])
        writer.writerow([section.title])
        writer.writerow(section.header)
        writer.writerows([_csv_value(v) for v in row] for row in section.rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(report: Report, *, city_name: str, tz: ZoneInfo) -> bytes:
    workbook = Workbook()
    info = workbook.active
    info.title = _("Info")
    for row in _info(report, city_name, tz):
        info.append(row)
    info.column_dimensions["A"].width = 26
    bold = Font(bold=True)
    for section in sections(report):
        sheet = workbook.create_sheet(section.title[:31])
        sheet.append(section.header)
        for cell in sheet[1]:
            cell.font = bold
        for values in section.rows:
            sheet.append(["—" if v is None else v for v in values])
        for index, title in enumerate(section.header):
            letter = sheet.cell(row=1, column=index + 1).column_letter
            sheet.column_dimensions[letter].width = max(10, min(40, len(title) + 2))
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_filename(report: Report, extension: str) -> str:
    if report.first_day == report.last_day:
        return f"laporan-aduan-{report.first_day.isoformat()}.{extension}"
    return f"laporan-aduan-{report.first_day.isoformat()}_{report.last_day.isoformat()}.{extension}"
