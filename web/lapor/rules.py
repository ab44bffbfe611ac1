"""The LAPOR! rules that need no database: tracking IDs, reading pasted or uploaded reports,
and the text an operator pastes back into LAPOR!. Plain Python, no web framework."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime

from web.i18n import _

# LAPOR! shows tracking IDs as plain numbers ("4529871") or prefixed codes ("LAP-2026-000123").
# We accept letters and digits in groups joined by single hyphens, at least one digit, 3-40
# characters, and store them upper-case so a search in any case finds the ticket.
LAPOR_ID = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)*")
LAPOR_ID_MAX = 40

# The columns of a pasted line (tab-separated) or of an uploaded CSV, in this order.
COLUMNS = ("lapor_id", "date", "title", "text", "category", "location")
CSV_HEADER_NAMES = {
    "lapor_id": ("lapor_id", "id", "nomor", "nomor_lapor", "tracking_id", "id_pelacakan"),
    "date": ("date", "tanggal"),
    "title": ("title", "judul"),
    "text": ("text", "isi", "isi_laporan", "description"),
    "category": ("category", "kategori"),
    "location": ("location", "lokasi"),
}
IMPORT_MAX_ROWS = 200


class LaporIdError(ValueError):
    """``str(exc)`` is the message for the operator."""


def normalize_lapor_id(raw: str) -> str:
    """The stored form of a tracking ID, or LaporIdError with the reason in Indonesian."""
    value = raw.strip().upper()
    if not value:
        raise LaporIdError(_("Isi nomor pelacakan SP4N-LAPOR!."))
    if (
        len(value) < 3
        or len(value) > LAPOR_ID_MAX
        or not LAPOR_ID.fullmatch(value)
        or not any(ch.isdigit() for ch in value)
    ):
        raise LaporIdError(
            _(
                "Nomor pelacakan SP4N-LAPOR! tidak valid: 3-40 huruf atau angka, boleh dipisah "
                "tanda hubung, misalnya 4529871 atau LAP-2026-000123."
            )
        )
    return value


def looks_like_lapor_id(text: str) -> bool:
    try:
        normalize_lapor_id(text)
    except LaporIdError:
        return False
    return True


def lapor_url(template: str, lapor_id: str) -> str:
    return template.replace("{id}", lapor_id)


@dataclass(frozen=True)
class ImportRow:
    line: int  # 1-based, as the operator counts: the pasted line or the CSV row (header = 1)
    lapor_id: str
    reported_on: date | None
    title: str
    text: str
    category: str
    location: str


def _parse_date(raw: str) -> date:
    raw = raw.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M"):
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise ValueError(raw)


def _row(line: int, cells: list[str], errors: dict[int, str]) -> ImportRow | None:
    cells = [c.strip() for c in cells]
    if len(cells) != len(COLUMNS):
        errors[line] = _(
            "Baris %(line)s: harus ada 6 kolom (nomor, tanggal, judul, isi, kategori, lokasi), "
            "ada %(n)s.",
            line=line,
            n=len(cells),
        )
        return None
    values = dict(zip(COLUMNS, cells, strict=True))
    try:
        lapor_id = normalize_lapor_id(values["lapor_id"])
    except LaporIdError as exc:
        errors[line] = _("Baris %(line)s: %(problem)s", line=line, problem=str(exc))
        return None
    reported_on = None
    if values["date"]:
        try:
            reported_on = _parse_date(values["date"])
        except ValueError:
            errors[line] = _(
                "Baris %(line)s: tanggal %(value)s tidak dikenali (pakai 2026-11-30 atau 30/11/2026).",
                line=line,
                value=values["date"],
            )
            return None
    return ImportRow(
        line=line,
        lapor_id=lapor_id,
        reported_on=reported_on,
        title=values["title"],
        text=values["text"],
        category=values["category"],
        location=values["location"],
    )


def parse_pasted(text: str) -> tuple[list[ImportRow], dict[int, str]]:
    """One report per non-empty line, its six columns separated by tabs (as copied from the
    LAPOR! admin table into a spreadsheet and from there into the form)."""
    rows: list[ImportRow] = []
    errors: dict[int, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        row = _row(number, line.split("\t"), errors)
        if row:
            rows.append(row)
    return rows, errors


def parse_csv(data: bytes) -> tuple[list[ImportRow], dict[int, str]]:
    """A CSV with a header row naming the six columns (English or Indonesian names, any order);
    comma or semicolon separated, UTF-8 (with or without BOM)."""
    errors: dict[int, str] = {}
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], {0: _("Berkas CSV harus berenkode UTF-8.")}
    try:
        dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    table = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if not table:
        return [], {0: _("Berkas CSV kosong.")}
    header = [h.strip().lower().replace(" ", "_") for h in table[0]]
    order: list[int] = []
    for column in COLUMNS:
        found = [i for i, name in enumerate(header) if name in CSV_HEADER_NAMES[column]]
        if not found:
            return [], {
                0: _(
                    "Baris judul CSV harus memuat kolom: lapor_id, date, title, text, category, "
                    "location (atau nomor, tanggal, judul, isi, kategori, lokasi)."
                )
            }
        order.append(found[0])
    rows: list[ImportRow] = []
    for number, cells in enumerate(table[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        picked = [cells[i] if i < len(cells) else "" for i in order]
        row = _row(number, picked, errors)
        if row:
            rows.append(row)
    return rows, errors


def paste_text(*, status_label: str, reply: str, number: str) -> str:
    """What the operator pastes into LAPOR! as the follow-up: status, then the latest public reply."""
    lines = [_("Status: %(status)s (tiket %(number)s)", status=status_label, number=number)]
    if reply:
        lines.append(_("Tindak lanjut: %(reply)s", reply=reply))
    return "\n".join(lines)
