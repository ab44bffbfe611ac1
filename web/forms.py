"""Form errors shared by every area: field -> message, raised by services, rendered by templates."""

from __future__ import annotations

import re
from collections.abc import Mapping

from web.i18n import _


class FormErrors(Exception):
    """One or more fields are wrong; ``errors`` maps field name to an Indonesian message.

    The key ``"__all__"`` carries a message about the form as a whole.
    """

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors

    @classmethod
    def single(cls, field: str, message: str) -> FormErrors:
        return cls({field: message})


# The most characters each text field takes, in one place. Longer input is refused with a message,
# never cut: what a citizen or an officer wrote is either stored whole or not at all.
MAX_LENGTH = {
    "title": 150,
    "description": 5000,
    "address": 255,
    "note": 2000,  # every timeline note: follow-up, reopen reason, reject reason, internal note
    "comment": 1000,  # rating comment
    "call_note": 2000,  # Call Center 112 log
    "reporter_name": 120,
    "reporter_contact": 40,
    "name": 120,
    "username": 60,
    "password": 200,
    "duplicate_of": 24,
    "push_endpoint": 1000,
}
OTHER_MAX = 200  # choices, codes, ids, tokens: no legitimate value is longer


def text_errors(values: Mapping[str, str]) -> dict[str, str]:
    """Field -> message for every value that holds a NUL byte or is longer than its maximum.

    NUL is refused everywhere: PostgreSQL cannot store it and SQLite would keep it silently.
    """
    errors = {}
    for field, value in values.items():
        if "\x00" in value:
            errors[field] = nul_message()
            continue
        limit = MAX_LENGTH.get(field, OTHER_MAX)
        if len(value.strip()) > limit:
            errors[field] = too_long_message(limit, len(value.strip()))
    return errors


# The words of text_errors, also handed to pages that check a form before it leaves the phone.
def nul_message() -> str:
    return _("Isian ini memuat karakter yang tidak diizinkan (NUL). Hapus lalu kirim lagi.")


def too_long_message(limit: int | str, got: int | str) -> str:
    return _(
        "Isian ini terlalu panjang: paling banyak %(n)s karakter, tertulis %(got)s.",
        n=limit,
        got=got,
    )


def check_text(values: Mapping[str, str]) -> None:
    """Raise FormErrors when ``text_errors`` finds anything."""
    if errors := text_errors(values):
        raise FormErrors(errors)


_ASCII_DIGITS = re.compile(r"[0-9]+")


def parse_int(raw: str | None, *, minimum: int, maximum: int) -> int | None:
    """A whole number written with the digits 0-9 only, within ``minimum..maximum``; else None.

    The one way to read a number from a form, a query or a header. ``str.isdigit`` takes "²"
    (then ``int`` raises: a server error) and "١٢"; ``int`` takes " 5 ", "+5" and "1_000"; a
    5000-digit string makes ``int`` raise too. None of them is a number the user meant.
    """
    if raw is None or len(raw) > len(str(maximum)) or not _ASCII_DIGITS.fullmatch(raw):
        return None
    value = int(raw)
    return value if minimum <= value <= maximum else None
