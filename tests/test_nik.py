"""NIK rules: structure, birth date (women +40), the city prefix policy, masking, keyed hashing."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from web.citizen.nik import PROVINCE_CODES, Nik, NikError, hash_nik, mask_nik, parse_nik

TODAY = date(2025, 11, 24)
MAN = "3672011505900001"  # Cilegon, kecamatan Cibeber, born 15 May 1990
WOMAN = "3672015505900001"  # same, day 15 + 40


def parse(raw: str, **kwargs) -> Nik:
    return parse_nik(raw, today=TODAY, **kwargs)


def test_valid_male_nik():
    nik = parse(MAN)
    assert nik.value == MAN
    assert (nik.province, nik.city, nik.kecamatan) == ("36", "3672", "367201")
    assert nik.birth_date == date(1990, 5, 15)
    assert nik.is_female is False
    assert nik.serial == "0001"


def test_valid_female_nik_has_day_plus_40():
    nik = parse(WOMAN)
    assert nik.birth_date == date(1990, 5, 15)
    assert nik.is_female is True


@pytest.mark.parametrize(
    "typed",
    ["3672 0155 0590 0001", "3672-0155-0590-0001", "36.72.01.550590.0001", " 3672015505900001 "],
)
def test_separators_people_type_are_ignored(typed):
    assert parse(typed).value == WOMAN


@pytest.mark.parametrize(
    ("ddmmyy", "expected"),
    [
        ("290200", date(2000, 2, 29)),  # 2000 is a leap year (divisible by 400)
        ("290296", date(1996, 2, 29)),
        ("690224", date(2024, 2, 29)),  # woman born on a leap day
        ("010100", date(2000, 1, 1)),
        ("311299", date(1999, 12, 31)),
    ],
)
def test_birth_dates_and_centuries(ddmmyy, expected):
    assert parse(f"367201{ddmmyy}0001").birth_date == expected


def test_a_date_after_today_is_read_in_the_previous_century():
    # "25" can only mean 1925 for 25 Nov when today is 24 Nov 2025: a NIK is never born tomorrow.
    assert parse("3672012511250001").birth_date == date(1925, 11, 25)
    assert parse("3672012411250001").birth_date == date(2025, 11, 24)


# (kind of failure, NIK, a word the message must contain)
INVALID = [
    ("empty", "", "NIK"),
    ("empty", "  - . ", "NIK"),
    ("length", "367201550590000", "16"),
    ("length", "36720155059000011", "16"),
    ("letters", "3672O15505900001", "angka"),
    ("letters", "367201550590000١", "angka"),  # Arabic-Indic digit: isdigit() but not 0-9
    ("province", "9972015505900001", "provinsi"),
    ("province", "9772015505900001", "provinsi"),  # 97 is a BPS code, not Kemendagri
    ("province", "0072015505900001", "provinsi"),
    ("city", "3600015505900001", "kabupaten/kota"),
    ("kecamatan", "3672005505900001", "kecamatan"),
    ("day", "3672013205900001", "tanggal"),
    ("day", "3672017205900001", "tanggal"),
    ("day", "3672013505900001", "tanggal"),
    ("day", "3672010005900001", "tanggal"),
    ("month", "3672011513900001", "bulan"),
    ("month", "3672011500900001", "bulan"),
    ("calendar", "3672013104900001", "kalender"),  # 31 April
    ("calendar", "3672012902010001", "kalender"),  # 29 Feb 2001 / 1901
    ("calendar", "3672016902230001", "kalender"),  # woman, 29 Feb 2023 / 1923
    ("serial", "3672011505900000", "0000"),
]


@pytest.mark.parametrize(("kind", "raw", "word"), INVALID)
def test_invalid_niks_are_refused_with_a_clear_message(kind, raw, word):
    with pytest.raises(NikError) as refused:
        parse(raw)
    assert word.lower() in refused.value.message.lower()
    assert str(refused.value) == refused.value.message


def _message(raw: str) -> str:
    with pytest.raises(NikError) as refused:
        parse(raw)
    return refused.value.message


def test_each_kind_of_failure_has_its_own_indonesian_message():
    first_of_each_kind = {}
    for kind, raw, _word in INVALID:
        first_of_each_kind.setdefault(kind, raw)
    messages = [_message(raw) for raw in first_of_each_kind.values()]
    assert len(set(messages)) == len(first_of_each_kind)
    for _kind, raw, _word in INVALID:
        message = _message(raw)
        assert "NIK" in message
        assert not {"must", "invalid", "digits", "date"} & set(message.lower().split())


def test_province_codes_are_the_38_kemendagri_codes():
    assert len(PROVINCE_CODES) == 38
    assert {"91", "92", "93", "94", "95", "96"} <= PROVINCE_CODES  # Papua and the 2022 provinces
    assert not {"20", "37", "90", "97", "98", "99"} & PROVINCE_CODES
    for code in PROVINCE_CODES:
        assert parse(f"{code}71011505900001").province == code


def test_strict_prefix_accepts_a_city_nik():
    assert parse(WOMAN, required_prefix="3672", city_name="Kota Cilegon").city == "3672"


def test_strict_prefix_refuses_a_nik_from_elsewhere_naming_the_city():
    with pytest.raises(NikError) as refused:
        parse("3201015505900001", required_prefix="3672", city_name="Kota Cilegon")
    assert "Kota Cilegon" in refused.value.message
    assert "3672" in refused.value.message


def test_without_prefix_any_valid_nik_is_accepted():
    assert parse("3201015505900001").city == "3201"


def test_structure_is_checked_before_the_prefix():
    with pytest.raises(NikError) as refused:
        parse("3672011505900000", required_prefix="3672", city_name="Kota Cilegon")
    assert "0000" in refused.value.message


def test_mask_shows_region_and_serial_only():
    assert mask_nik(WOMAN) == "3672\u2022\u2022\u2022\u2022\u2022\u2022\u2022\u20220001"
    assert mask_nik("3672 0155 0590 0001") == mask_nik(WOMAN)
    assert "5505" not in mask_nik(WOMAN)


def test_hash_is_keyed_and_ignores_typing():
    hashed = hash_nik(WOMAN, "key-one")
    assert len(hashed) == 64
    assert int(hashed, 16) >= 0
    assert hash_nik("3672 0155 0590 0001", "key-one") == hashed
    assert hash_nik("3672-0155-0590-0001", "key-one") == hashed
    assert hash_nik(WOMAN, "key-two") != hashed
    assert hash_nik(MAN, "key-one") != hashed
    assert hashed != hashlib.sha256(WOMAN.encode()).hexdigest()
