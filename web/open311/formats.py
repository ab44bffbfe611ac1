"""One renderer for every Open311 answer: the same payload as JSON or XML, chosen by the URL suffix.

GeoReport v2 sends lists as ``<services><service>…``, ``<service_requests><request>…`` and errors
as ``<errors><error><code/><description/></error></errors>``; the element of a list's items is
named in ``ITEM``. Dates go out in ISO 8601 with the city's offset; ids and codes as strings (the
builders make them so); ``None`` is left out, in both formats alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from litestar.response import Response

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# The element name of one item in each list the spec names.
ITEM = {
    "services": "service",
    "service_requests": "request",
    "service_request_updates": "request_update",  # FixMyStreet's extension
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}
# Open data: anyone may cache a moment; no cookies are read, so no Vary on them.
HEADERS = {"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"}


def split_suffix(name: str) -> tuple[str, str] | None:
    """``"jalan-rusak.json"`` -> ``("jalan-rusak", "json")``; None without a known suffix."""
    stem, dot, fmt = name.rpartition(".")
    return (stem, fmt) if dot and stem and fmt in FORMATS else None


_SCALARS = frozenset({str, int, float, bool})


def _plain(value: Any, tz: tzinfo) -> Any:
    # Most values are plain already: an exact type check first (a page of 50 requests holds 750
    # values, and isinstance against Mapping, an ABC, costs more than the rest of the work).
    if type(value) in _SCALARS:
        return value
    if isinstance(value, datetime):
        return value.astimezone(tz).isoformat(timespec="seconds")
    if type(value) is dict or isinstance(value, Mapping):
        return {k: _plain(v, tz) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v, tz) for v in value]
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(parent: Element, name: str, value: Any) -> None:
    if isinstance(value, Mapping):
        element = SubElement(parent, name)
        for key, item in value.items():
            _fill(element, key, item)
    elif isinstance(value, list):
        element = SubElement(parent, name)
        for item in value:
            _fill(element, ITEM.get(name, "item"), item)
    else:
        SubElement(parent, name).text = _text(value)


def to_xml(payload: Any, root: str) -> bytes:
    """The payload under ``root``: a list becomes ``<root><item/>…</root>``, a mapping its fields."""
    element = Element(root)
    if isinstance(payload, list):
        for item in payload:
            _fill(element, ITEM[root], item)
    else:
        for key, value in payload.items():
            _fill(element, key, value)
    return (
        b'<?xml version="1.0" encoding="utf-8"?>\n' + tostring(element, encoding="unicode").encode()
    )


def render(
    payload: Any,
    fmt: str,
    *,
    root: str,
    tz: tzinfo,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """``payload`` (a list or a mapping of plain values) as ``fmt`` ("json" or "xml")."""
    plain = _plain(payload, tz)
    if fmt == "xml":
        body = to_xml(plain, root)
    else:
        body = json.dumps(plain, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(
        content=body,
        media_type=FORMATS[fmt],
        status_code=status_code,
        headers={**HEADERS, **(headers or {})},
    )


class Open311Error(Exception):
    """An answer in the spec's error format: ``[{code, description}]`` with the HTTP status."""

    def __init__(self, status_code: int, description: str, fmt: str = "json") -> None:
        super().__init__(description)
        self.status_code = status_code
        self.description = description
        self.fmt = fmt if fmt in FORMATS else "json"


def render_error(error: Open311Error, tz: tzinfo) -> Response:
    # A number, as in the spec's example (``"code":403``), unlike ids and codes of services.
    payload = [{"code": error.status_code, "description": error.description}]
    return render(payload, error.fmt, root="errors", tz=tz, status_code=error.status_code)
