"""NIK (Nomor Induk Kependudukan) parsing, masking and hashing.

Layout ``PP KK CC DDMMYY SSSS``: province, city/regency and kecamatan where the NIK was first
issued, birth date (women: day + 40), serial. A NIK never changes when its holder moves, so the
city prefix is a policy the caller chooses (``required_prefix``), not part of validity.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date

from web.errors import UserError
from web.i18n import _

# The 38 province codes of Kemendagri (Kepmendagri 100.1.1-6117/2022 and later updates), which
# Dukcapil uses in NIKs. The Papua provinces made in 2022 are 93 Papua Selatan, 94 Papua Tengah,
# 95 Papua Pegunungan, 96 Papua Barat Daya (91 Papua, 92 Papua Barat stay). BPS numbers Papua
# differently (91, 92, 94-97): do not mix the two lists, 97 is not a Kemendagri code.
PROVINCE_CODES = frozenset(
    {
        "11", "12", "13", "14", "15", "16", "17", "18", "19", "21",
        "31", "32", "33", "34", "35", "36",
        "51", "52", "53",
        "61", "62", "63", "64", "65",
        "71", "72", "73", "74", "75", "76",
        "81", "82",
        "91", "92", "93", "94", "95", "96",
    }
)  # fmt: skip

# Separators people type when copying from a KTP: "3672 0155 0590 0001", "36.72.01...", "3672-..."
_SEPARATORS = re.compile(r"[\s.\-]")
FEMALE_DAY_OFFSET = 40
MASK = "\u2022" * 8


class NikError(UserError):
    """A NIK the citizen must correct."""


@dataclass(frozen=True)
class Nik:
    value: str
    province: str  # "36"
    city: str  # "3672"
    kecamatan: str  # "367201"
    birth_date: date
    is_female: bool
    serial: str  # "0001"


def normalize_nik(raw: str) -> str:
    return _SEPARATORS.sub("", raw or "")


def parse_nik(
    raw: str, *, required_prefix: str | None = None, city_name: str = "", today: date | None = None
) -> Nik:
    """Check a NIK's structure and birth date; raise NikError with a message for the citizen.

    ``required_prefix`` (e.g. "3672") enforces a city's strict policy; ``city_name`` names the city
    in the refusal. ``today`` is for tests.
    """
    value = normalize_nik(raw)
    if not value:
        raise NikError(_("Isi NIK sesuai KTP (16 angka)."))
    if not value.isascii() or not value.isdigit():
        raise NikError(_("NIK hanya berisi angka, tanpa huruf atau tanda lain."))
    if len(value) != 16:
        raise NikError(_("NIK harus 16 angka; yang diisi %(count)s angka.", count=len(value)))
    province, city_part, kecamatan_part = value[0:2], value[2:4], value[4:6]
    if province not in PROVINCE_CODES:
        raise NikError(
            _(
                "Kode provinsi %(code)s pada NIK tidak dikenal. Periksa 2 angka pertama.",
                code=province,
            )
        )
    if city_part == "00":
        raise NikError(_("Kode kabupaten/kota pada NIK (angka ke-3 dan ke-4) tidak boleh 00."))
    if kecamatan_part == "00":
        raise NikError(_("Kode kecamatan pada NIK (angka ke-5 dan ke-6) tidak boleh 00."))
    birth_date, is_female = _birth_date(value[6:12], today or date.today())
    serial = value[12:16]
    if serial == "0000":
        raise NikError(_("Nomor urut pada NIK (4 angka terakhir) tidak boleh 0000."))
    if required_prefix and not value.startswith(required_prefix):
        raise NikError(
            _(
                "NIK ini tidak terdaftar di %(city)s: layanan ini menerima NIK "
                "yang diawali %(prefix)s.",
                city=city_name or _("kota ini"),
                prefix=required_prefix,
            )
        )
    return Nik(
        value=value,
        province=province,
        city=value[0:4],
        kecamatan=value[0:6],
        birth_date=birth_date,
        is_female=is_female,
        serial=serial,
    )


def _birth_date(ddmmyy: str, today: date) -> tuple[date, bool]:
    day, month, yy = int(ddmmyy[0:2]), int(ddmmyy[2:4]), int(ddmmyy[4:6])
    is_female = day > FEMALE_DAY_OFFSET
    if is_female:
        day -= FEMALE_DAY_OFFSET
    if not 1 <= day <= 31:
        raise NikError(
            _(
                "Tanggal lahir pada NIK (angka ke-7 dan ke-8) harus 01 sampai 31, "
                "atau 41 sampai 71 untuk perempuan."
            )
        )
    if not 1 <= month <= 12:
        raise NikError(_("Bulan lahir pada NIK (angka ke-9 dan ke-10) harus 01 sampai 12."))
    # Two-digit year: take the latest century that does not put the birth after today. The other
    # reading makes the holder 100 years older or younger, so a future date can never come out;
    # someone born 1925 with "25" after today's day and month is read as 1925, not refused.
    for year in (2000 + yy, 1900 + yy):
        try:
            born = date(year, month, day)
        except ValueError:
            continue  # 29 Feb 2000 exists, 29 Feb 1900 does not: each century is checked
        if born <= today:
            return born, is_female
    raise NikError(
        _(
            "Tanggal lahir pada NIK tidak ada di kalender (%(day)02d-%(month)02d-%(yy)02d).",
            day=day,
            month=month,
            yy=yy,
        )
    )


def mask_nik(nik: str) -> str:
    """What screens show: the region and the serial, never the birth date."""
    value = normalize_nik(nik)
    return f"{value[:4]}{MASK}{value[-4:]}"


def hash_nik(nik: str, key: str) -> str:
    """Keyed hash for storage and duplicate checks.

    Plausible NIKs number only ~10^10, so a plain SHA-256 table could be reversed by enumeration;
    the HMAC key (``nik_hash_key`` setting, kept outside the database) prevents that.
    """
    return hmac.new(key.encode(), normalize_nik(nik).encode(), hashlib.sha256).hexdigest()
