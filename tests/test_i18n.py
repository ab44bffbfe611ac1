"""Every UI string has an English translation, and the language switch changes the page."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tests.helpers import soup
from tests.html import texts_of

ROOT = Path(__file__).resolve().parent.parent


def _i18n_script():
    spec = importlib.util.spec_from_file_location("i18n_script", ROOT / "scripts" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_ui_string_has_an_english_translation():
    from babel.messages.pofile import read_po

    script = _i18n_script()
    with script.PO_PATH.open("rb") as fh:
        catalogue = {m.id: m.string for m in read_po(fh, locale="en") if m.id}
    extracted = [m.id for m in script.extract() if m.id]
    assert len(extracted) > 50
    missing = [msgid for msgid in extracted if not catalogue.get(msgid)]
    assert missing == [], (
        f"{len(missing)} strings need English (run scripts/i18n.py): {missing[:5]}"
    )


def test_pages_are_indonesian_first_and_english_on_request(client):
    home = client.get("/")
    assert soup(home).html["lang"] == "id"
    assert "Buat laporan" in texts_of(home, "a.button")

    switched = client.get("/bahasa/en?next=/")
    assert soup(switched).html["lang"] == "en"
    assert "Buat laporan" not in switched.text
    assert "Indonesia" in soup(switched).select_one(".lang-switch").get_text()


def test_error_messages_follow_the_language(client):
    client.get("/bahasa/en?next=/")
    response = client.post(
        "/daftar", data={"nik": "1"}, headers={"x-csrftoken": client.cookies["csrftoken"]}
    )
    assert response.status_code == 400
    assert "16" in soup(response).find(id="nik-error").get_text()
    assert "NIK harus" not in response.text


def test_fast_date_format_matches_babel_in_both_languages():
    from datetime import UTC, datetime

    from babel.dates import format_datetime

    from web.templating import format_local

    value = datetime(2026, 3, 5, 7, 9, tzinfo=UTC)
    for pattern in ("d MMM, HH.mm", "d MMM yyyy, HH.mm", "d MMMM yyyy", "EEEE d MMM"):
        for locale in ("id", "en"):
            assert format_local(value, pattern, locale) == format_datetime(
                value, pattern, locale=locale
            )
