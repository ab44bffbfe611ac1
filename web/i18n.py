"""Translations: Bahasa Indonesia is the source language, English comes from a catalogue.

Message ids are the Indonesian text itself, so a missing English entry degrades to Indonesian,
never to a code. The active locale lives in a context variable set per request, which lets plain
Python rules (NIK, photos...) return translated messages without knowing about requests.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache, lru_cache, wraps
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES = ("id", "en")
SOURCE_LOCALE = "id"
LOCALE_DIR = Path(__file__).parent / "locale"

_current_locale: ContextVar[str] = ContextVar("aduan_locale", default=SOURCE_LOCALE)


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    """Compile the ``.po`` catalogue in memory: no build step, no committed ``.mo`` files."""
    po_path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == SOURCE_LOCALE or not po_path.exists():
        return _gettext.NullTranslations()
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def get_locale() -> str:
    return _current_locale.get()


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    token = _current_locale.set(locale if locale in LOCALES else SOURCE_LOCALE)
    try:
        yield
    finally:
        _current_locale.reset(token)


def gettext(message: str, **params: object) -> str:
    text = translations(get_locale()).gettext(message)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params: object) -> str:
    text = translations(get_locale()).ngettext(singular, plural, n)
    params.setdefault("num", n)
    return text % params


_ = gettext


def per_locale(label: Callable[[str], str]) -> Callable[[str], str]:
    """Remember a code -> label function's answers per locale.

    Label functions build a dict of translated strings on every call; a list page calls them for
    every row, so without this each page view translated a few hundred strings.
    """
    remembered = lru_cache(maxsize=1024)(lambda locale, code: label(code))

    @wraps(label)
    def cached(code: str) -> str:
        return remembered(get_locale(), code)

    return cached
