"""Indonesian WhatsApp numbers: accepted shapes, refusals, the API form and the screen mask."""

from __future__ import annotations

import pytest

from web.messaging.phone import PhoneError, mask_phone, normalize_phone, whatsapp_id


@pytest.mark.parametrize(
    "typed",
    [
        "0812-3456-7890",
        "0812 3456 7890",
        "081234567890",
        "+62 812 3456 7890",
        "+6281234567890",
        "6281234567890",
        "62 812-3456-7890",
        "(0812) 3456 7890",
        "+62 (812) 3456-7890",
        "0812.3456.7890",
        " 0812-3456-7890 ",
    ],
)
def test_accepted_shapes_normalise_to_the_same_e164(typed):
    assert normalize_phone(typed) == "+6281234567890"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("0811-1234-567", "+628111234567"),  # 11 digits with the 0
        ("0855-1234-5678", "+6285512345678"),
        ("0881-2345-6789", "+6288123456789"),
    ],
)
def test_other_mobile_operators(typed, expected):
    assert normalize_phone(typed) == expected


def _message(typed: str) -> str:
    with pytest.raises(PhoneError) as refused:
        normalize_phone(typed)
    assert str(refused.value) == refused.value.message
    return refused.value.message


EXAMPLE = "0812-3456-7890"


@pytest.mark.parametrize(
    ("typed", "word"),
    [
        ("0254-391234", "rumah/kantor"),  # Cilegon landline
        ("(0254) 391234", "rumah/kantor"),
        ("+62 21 5551234", "rumah/kantor"),  # Jakarta landline
        ("+1 202 555 0101", "luar negeri"),
        ("+65 9123 4567", "luar negeri"),
        ("0812", "pendek"),
        ("0812-345", "pendek"),
        ("+62 812 345", "pendek"),
        ("0812-3456-7890-1234", "panjang"),
        ("hello", "angka"),
        ("0812-abcd-7890", "angka"),
        ("", "Isi"),
    ],
)
def test_refused_numbers_get_a_clear_indonesian_message(typed, word):
    message = _message(typed)
    assert word.lower() in message.lower()
    assert "HP" in message


def test_refusals_are_distinct_and_show_an_example():
    messages = {
        _message("0254-391234"),
        _message("+1 202 555 0101"),
        _message("0812"),
        _message("0812-3456-7890-1234"),
    }
    assert len(messages) == 4
    assert all("WhatsApp" in message and EXAMPLE in message for message in messages)


def test_whatsapp_id_drops_the_plus():
    assert whatsapp_id("+6281234567890") == "6281234567890"


def test_mask_keeps_the_start_and_the_last_four():
    assert mask_phone("+6281234567890") == "+62 812\u2022\u2022\u2022\u20227890"
    assert mask_phone("+628111234567") == "+62 811\u2022\u2022\u20224567"
    assert "3456" not in mask_phone("+6281234567890")
