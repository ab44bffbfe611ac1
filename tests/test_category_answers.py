"""The rules for answers to a category's own questions (web/complaints/questions.py): what each
datatype takes, what it refuses and in which words, and the snapshot a ticket keeps."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import pytest

from db.city_data import Question
from web.complaints.questions import (
    STRING_MAX,
    TEXT_MAX,
    answers_json,
    check_answers,
    stored_answers,
)
from web.forms import FormErrors

JAKARTA = ZoneInfo("Asia/Jakarta")
KIND = Question(
    "jenis",
    "singlevaluelist",
    True,
    1,
    "Jenis kerusakan",
    (("berlubang", "Berlubang"), ("retak", "Retak")),
)
WIDTH = Question("lebar", "number", False, 2, "Lebar (cm)")
SEEN = Question("sejak", "datetime", False, 3, "Sejak kapan")
PLACE = Question("patokan", "string", False, 4, "Patokan terdekat")
STORY = Question("cerita", "text", False, 5, "Cerita singkat")
ALSO = Question(
    "dampak",
    "multivaluelist",
    False,
    6,
    "Dampak",
    (("macet", "Macet"), ("banjir", "Tergenang"), ("kecelakaan", "Kecelakaan")),
)
ALL = (KIND, WIDTH, SEEN, PLACE, STORY, ALSO)


def check(raw: dict, questions=ALL):
    return check_answers(questions, raw, tz=JAKARTA)


def refused(raw: dict, questions=ALL) -> dict[str, str]:
    with pytest.raises(FormErrors) as caught:
        check(raw, questions)
    return caught.value.errors


def one(question: Question, *values: str):
    answers = check({"jenis": ["retak"], question.code: list(values)})
    return next(a for a in answers if a.code == question.code)


def test_every_datatype_in_asking_order_as_a_snapshot():
    answers = check(
        {
            "dampak": ["banjir", "macet", "banjir"],
            "cerita": ["  Sudah dua minggu.\nMakin lebar.  "],
            "patokan": ["  depan   SD 1 "],
            "sejak": ["2026-03-01T14:30"],
            "lebar": ["12,5"],
            "jenis": ["berlubang"],
        }
    )
    assert [a.as_dict() for a in answers] == [
        {
            "code": "jenis",
            "question": "Jenis kerusakan",
            "datatype": "singlevaluelist",
            "value": "berlubang",
            "shown": "Berlubang",
        },
        {
            "code": "lebar",
            "question": "Lebar (cm)",
            "datatype": "number",
            "value": "12.5",
            "shown": "12,5",
        },
        {
            "code": "sejak",
            "question": "Sejak kapan",
            "datatype": "datetime",
            "value": "2026-03-01T14:30:00+07:00",  # the browser's datetime-local, the city's time
            "shown": "01-03-2026 14.30",
        },
        {
            "code": "patokan",
            "question": "Patokan terdekat",
            "datatype": "string",
            "value": "depan SD 1",
            "shown": "depan SD 1",
        },
        {
            "code": "cerita",
            "question": "Cerita singkat",
            "datatype": "text",
            "value": "Sudah dua minggu.\nMakin lebar.",
            "shown": "Sudah dua minggu.\nMakin lebar.",
        },
        {
            "code": "dampak",
            "question": "Dampak",
            "datatype": "multivaluelist",
            # The list's own order, each once.
            "value": ["macet", "banjir"],
            "shown": "Macet, Tergenang",
        },
    ]
    stored = answers_json(answers)
    assert stored is not None
    assert [a["code"] for a in json.loads(stored)] == [a.code for a in answers]
    assert stored_answers(stored)[1] == {"question": "Lebar (cm)", "shown": "12,5", "asked": True}


def test_required_answers_and_empty_optional_ones():
    assert refused({}) == {"jenis": "Jawab pertanyaan “Jenis kerusakan”."}
    assert refused({"jenis": ["   "]}) == {"jenis": "Jawab pertanyaan “Jenis kerusakan”."}
    # Optional questions left empty are not stored at all.
    answers = check({"jenis": ["retak"], "lebar": [""], "dampak": []})
    assert [a.code for a in answers] == ["jenis"]
    assert answers_json([]) is None


def test_unknown_codes_are_ignored_and_never_stored():
    answers = check({"jenis": ["retak"], "fixmystreet_id": ["12"], "kelurahan": ["3672011001"]})
    assert [a.code for a in answers] == ["jenis"]


@pytest.mark.parametrize(
    ("typed", "stored", "shown"),
    [("12", "12", "12"), ("12,5", "12.5", "12,5"), ("12.5", "12.5", "12,5"), ("-3", "-3", "-3")],
)
def test_numbers_in_either_decimal_mark(typed, stored, shown):
    answer = one(WIDTH, typed)
    assert (answer.value, answer.shown) == (stored, shown)


@pytest.mark.parametrize("typed", ["dua belas", "12 cm", "1e5", "nan", "inf", "1.2.3", "--1"])
def test_numbers_refuse_text(typed):
    assert refused({"jenis": ["retak"], "lebar": [typed]}) == {
        "lebar": "Jawaban “Lebar (cm)” harus berupa angka, misalnya 12 atau 12,5."
    }


def test_numbers_within_sane_bounds():
    assert one(WIDTH, "1000000000").value == "1000000000"
    message = refused({"jenis": ["retak"], "lebar": ["1000000001"]})["lebar"]
    assert "di luar batas wajar" in message and "1.000.000.000" in message


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("2026-03-01T14:30", "2026-03-01T14:30:00+07:00"),
        ("2026-03-01 14:30:15", "2026-03-01T14:30:15+07:00"),
        ("2026-03-01T07:30:00Z", "2026-03-01T07:30:00+00:00"),
        ("2026-03-01T14:30:00+08:00", "2026-03-01T14:30:00+08:00"),
    ],
)
def test_datetimes_iso_8601_and_the_browsers_datetime_local(typed, stored):
    assert one(SEEN, typed).value == stored


@pytest.mark.parametrize(
    "typed", ["kemarin sore", "01/03/2026 14:30", "2026-13-01T10:00", "0001-01-01"]
)
def test_datetimes_refuse_anything_else(typed):
    assert (
        "harus berupa tanggal dan jam" in refused({"jenis": ["retak"], "sejak": [typed]})["sejak"]
    )


def test_string_one_line_and_text_several_with_their_limits():
    assert one(PLACE, "a" * STRING_MAX).value == "a" * STRING_MAX
    assert refused({"jenis": ["retak"], "patokan": ["a" * (STRING_MAX + 1)]}) == {
        "patokan": "Jawaban “Patokan terdekat” terlalu panjang (paling banyak 200 huruf)."
    }
    assert one(STORY, "b" * TEXT_MAX).value == "b" * TEXT_MAX
    assert (
        "paling banyak 2000 huruf"
        in refused({"jenis": ["retak"], "cerita": ["b" * 2001]})["cerita"]
    )


def test_nul_and_control_characters_are_refused():
    nul = refused({"jenis": ["retak"], "patokan": ["depan\x00SD"]})["patokan"]
    assert "NUL" in nul
    bell = refused({"jenis": ["retak"], "cerita": ["bunyi\x07"]})["cerita"]
    assert bell == "Jawaban “Cerita singkat” memuat karakter yang tidak diizinkan."
    # Tabs and line breaks are ordinary typing in a textarea.
    assert one(STORY, "baris satu\r\n\tbaris dua").value == "baris satu\r\n\tbaris dua"


def test_lists_take_only_their_own_keys():
    assert refused({"jenis": ["longsor"]}) == {
        "jenis": "Pilih salah satu jawaban “Jenis kerusakan” dari daftar."
    }
    # A name is not a key; a single-value list takes one answer.
    assert "jenis" in refused({"jenis": ["Retak"]})
    assert refused({"jenis": ["retak", "berlubang"]}) == {
        "jenis": "Pertanyaan “Jenis kerusakan” hanya menerima satu jawaban."
    }
    assert refused({"jenis": ["retak"], "dampak": ["macet", "gempa"]}) == {
        "dampak": "Pilih jawaban “Dampak” dari daftar yang tersedia."
    }


def test_every_problem_at_once():
    assert set(refused({"lebar": ["x"], "sejak": ["besok"], "dampak": ["?"]})) == {
        "jenis",
        "lebar",
        "sejak",
        "dampak",
    }


@pytest.mark.parametrize("stored", [None, "", "[]", "not json", "42", '"x"'])
def test_stored_answers_tolerate_nothing_and_junk(stored):
    assert stored_answers(stored) == []


def test_stored_answers_of_tickets_filed_before_answers_were_checked():
    # Open311 used to keep the raw {code: value} object.
    assert stored_answers('{"kedalaman": "30 cm"}') == [
        {"question": "kedalaman", "shown": "30 cm", "asked": True}
    ]
