"""Collect UI strings from code and templates and merge them into the English catalogue.

Message ids are the Bahasa Indonesia text. New ids get an empty English msgstr for a translator;
tests/test_i18n.py fails while any msgstr is empty. Usage: .venv/bin/python scripts/i18n.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PO_PATH = ROOT / "web" / "locale" / "en" / "LC_MESSAGES" / "messages.po"
METHODS = [
    ("web/**.py", "python"),
    ("web/templates/**.html", "jinja2"),
    ("components/**.html", "jinja2"),
]
OPTIONS = {"**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "false"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}


def extract() -> Catalog:
    catalog = Catalog(locale="en", project="aduan")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), METHODS, options_map=OPTIONS, keywords=KEYWORDS
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def main() -> int:
    template = extract()
    with PO_PATH.open("rb") as fh:
        existing = read_po(fh, locale="en")
    existing.update(template, no_fuzzy_matching=True)
    # Dropped strings would linger as obsolete entries; nobody needs them.
    existing.obsolete.clear()
    with PO_PATH.open("wb") as fh:
        write_po(fh, existing, width=100, omit_header=False, sort_output=True, include_lineno=False)
    missing = [m.id for m in existing if m.id and not m.string]
    print(f"{len(existing) - 1} messages, {len(missing)} without English translation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
