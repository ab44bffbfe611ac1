"""Assertions on HTML by structure: find an element with a CSS selector, then read its text or its
value, so a test says *where* a message or a value must be, not only that the bytes occur.

Negative privacy checks ("the NIK is nowhere in the page") stay on the raw body on purpose: a leak
in an attribute or a script counts too.
"""

from __future__ import annotations

from bs4 import BeautifulSoup, Tag


def soup(page) -> Tag:
    """The parsed page: from a response or HTML text; an element already parsed is kept (so the
    readers below also look inside one element, e.g. one card of a list)."""
    if isinstance(page, Tag):
        return page
    return BeautifulSoup(page if isinstance(page, str) else page.text, "html.parser")


def _clean(text: str) -> str:
    return " ".join(text.split())


def select(response, selector: str) -> list[Tag]:
    return soup(response).select(selector)


def has(response, selector: str) -> bool:
    """Whether at least one element matches ``selector``."""
    return soup(response).select_one(selector) is not None


def text_of(response, selector: str) -> str:
    """The text of the first element matching ``selector``, whitespace collapsed ("" if none)."""
    node = soup(response).select_one(selector)
    return _clean(node.get_text(" ")) if node else ""


def texts_of(response, selector: str) -> list[str]:
    """The text of every element matching ``selector``, whitespace collapsed."""
    return [_clean(node.get_text(" ")) for node in soup(response).select(selector)]


def visible_text(response) -> str:
    """What a reader sees: the text of the page without markup, scripts or styles."""
    page = BeautifulSoup(str(soup(response)), "html.parser")  # a copy: the caller's stays whole
    for node in page(["script", "style", "template"]):
        node.decompose()
    return _clean(page.get_text(" "))


def form_value(response, name: str) -> str:
    """The value a form field named ``name`` shows: what the user typed survives a re-render."""
    node = soup(response).find(attrs={"name": name})
    if node is None:
        return ""
    if node.name == "textarea":
        return node.get_text()
    if node.name == "select":
        chosen = node.find("option", selected=True)
        return chosen["value"] if chosen else ""
    return node.get("value", "")


def field_error(response, field: str) -> str:
    """The error message shown under the field ``field`` ("" if none)."""
    node = soup(response).find(id=f"{field}-error")
    return node.get_text(" ", strip=True) if node else ""
