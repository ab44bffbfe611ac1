"""Indonesian mobile numbers: the citizen's WhatsApp number, stored in E.164 (``+628...``)."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from web.errors import UserError
from web.i18n import _

# What people type around the digits: "0812-3456-7890", "(0812) 3456 7890", "+62 812.3456.7890".
_ALLOWED = re.compile(r"^[\d\s+\-().]+$")
_MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
# After +62: 9 to 12 digits starting with 8 (08xx numbers are 10 to 13 digits with the 0).
_MIN_DIGITS, _MAX_DIGITS = 9, 12
BULLET = "\u2022"


class PhoneError(UserError):
    """A phone number the citizen must correct."""


def _use_mobile() -> str:
    return _("Gunakan nomor HP Indonesia yang aktif di WhatsApp, misalnya 0812-3456-7890.")


def normalize_phone(raw: str) -> str:
    """Validate an Indonesian mobile number as typed and return it in E.164; raise PhoneError."""
    text = (raw or "").strip()
    if not text:
        raise PhoneError(_("Isi nomor HP yang aktif di WhatsApp."))
    if not _ALLOWED.match(text):
        raise PhoneError(_("Nomor HP hanya berisi angka, misalnya 0812-3456-7890."))
    digits = re.sub(r"\D", "", text)
    # "62812..." typed without the plus would otherwise be read as a local number starting 62.
    if not text.startswith("+") and digits.startswith("62"):
        text = "+" + digits
    try:
        number = phonenumbers.parse(text, "ID")
    except NumberParseException as exc:
        raise PhoneError(_use_mobile()) from exc
    if number.country_code != 62:
        raise PhoneError(_("Nomor luar negeri tidak dapat dipakai. %(hint)s", hint=_use_mobile()))
    # Too short to drop the trunk 0, libphonenumber keeps it ("0812" stays "0812"): drop it here.
    national = phonenumbers.national_significant_number(number).lstrip("0")
    if not national.startswith("8"):
        raise PhoneError(
            _("Ini nomor telepon rumah/kantor, bukan nomor HP. %(hint)s", hint=_use_mobile())
        )
    if len(national) < _MIN_DIGITS:
        raise PhoneError(_("Nomor HP terlalu pendek. %(hint)s", hint=_use_mobile()))
    if len(national) > _MAX_DIGITS:
        raise PhoneError(_("Nomor HP terlalu panjang. %(hint)s", hint=_use_mobile()))
    if (
        not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) not in _MOBILE_TYPES
    ):
        raise PhoneError(_("Nomor HP ini tidak dikenal. %(hint)s", hint=_use_mobile()))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def whatsapp_id(e164: str) -> str:
    """WhatsApp APIs take the number without the plus: ``+62812...`` -> ``62812...``."""
    return e164.removeprefix("+")


def mask_phone(e164: str) -> str:
    """``+6281234567890`` -> ``+62 812••••7890``: enough for the owner to recognise it."""
    if e164.startswith("+62") and len(e164) > 10:
        national = e164[3:]
        return f"+62 {national[:3]}{BULLET * (len(national) - 7)}{national[-4:]}"
    return BULLET * max(len(e164) - 4, 0) + e164[-4:]
