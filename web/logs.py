"""One log format for the web processes, uvicorn and the worker.

Every line carries a UTC timestamp, level, logger, host, pid and, inside a request or a job run,
its id (a context variable, so every line of one request shares it). ``text`` is for people,
``json`` is one object per line for log collectors. uvicorn's access log is switched off: the
line it writes holds the query string (``?next=``, filters, search words) and the proxy's address;
``log_request`` writes ours instead, with the client address the per-IP limits see.

Nothing personal goes into a log line: no NIK, phone number, sign-in code, password or session id.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import secrets
import socket
import sys
import time
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from web.forwarded import Network, client_address, peer_is_trusted

HOST = socket.gethostname()
REQUEST_ID_HEADER = b"x-request-id"
# A proxy's id is kept only when it looks like one (nginx's $request_id, a UUID, a trace id):
# anything else could forge log lines or fill them.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
MAX_LOGGED_PATH = 300

current_id: ContextVar[str | None] = ContextVar("aduan_request_id", default=None)

access_log = logging.getLogger("aduan.access")

# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is a field.
_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's coloured copy of the message
}


def new_id(prefix: str = "") -> str:
    # 64 random bits: unique enough to find one request's lines, short enough to read. Shorter
    # than nginx's $request_id (32 hex digits), so a line shows who made its id.
    return f"{prefix}{secrets.token_hex(8)}"


@contextlib.contextmanager
def bound_id(value: str) -> Iterator[str]:
    """Every log line written inside the block (and in tasks it starts) carries ``value``."""
    token = current_id.set(value)
    try:
        yield value
    finally:
        current_id.reset(token)


def request_id_for(peer: str, header_values: Sequence[str], trusted: Sequence[Network]) -> str:
    """The proxy's ``X-Request-ID`` when the peer is one of our proxies and it is a sane token;
    a fresh id otherwise (a client must not choose the id its lines are filed under)."""
    if len(header_values) == 1 and peer_is_trusted(peer, trusted):
        candidate = header_values[0].strip()
        if SANE_REQUEST_ID.fullmatch(candidate):
            return candidate
    return new_id()


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(record.msecs):03d}Z"


def _record_id(record: logging.LogRecord) -> str | None:
    return getattr(record, "request_id", None) or current_id.get()


class TextFormatter(logging.Formatter):
    """``2026-11-30T01:02:03.456Z INFO aduan.access host=web1 pid=42 request_id=ab12… message``"""

    def format(self, record: logging.LogRecord) -> str:
        request_id = _record_id(record)
        line = " ".join(
            part
            for part in (
                _timestamp(record),
                record.levelname,
                record.name,
                f"host={HOST}",
                f"pid={record.process}",
                f"request_id={request_id}" if request_id else "",
                record.getMessage(),
            )
            if part
        )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, host, pid, request_id, msg, then ``exc`` when
    an exception is logged and any ``extra=`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "host": HOST,
            "pid": record.process,
            "request_id": _record_id(record),
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in entry:
                entry[key] = value
        return json.dumps(entry, default=str, ensure_ascii=False)


class _OurHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (pytest swaps it per test). The class
    marks the handler this module installed, so a second set-up replaces it (tests build many
    apps in one process) and handlers others installed (pytest's) stay."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def _make_handler(log_format: str) -> logging.Handler:
    handler = _OurHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    return handler


def configure_logging(log_format: str = "text", level: str = "INFO") -> None:
    """Send every logger, uvicorn's included, through one handler in ``log_format``."""
    handler = _make_handler(log_format)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.captureWarnings(True)  # a library's warning is a line in the same format, not raw text
    # uvicorn configured its loggers with their own handlers before it loaded the app: from here
    # on they go to the root handler, at ADUAN_LOG_LEVEL.
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers.clear()
    uvicorn_access.propagate = False
    uvicorn_access.disabled = True  # even without --no-access-log: it would log query strings


def handler_from_settings() -> logging.Handler:
    """For ``uvicorn --log-config deploy/uvicorn-logging.json``: with ``--workers`` the supervisor
    process never loads the app, and this gives its lines (a worker process died, restarts) our
    format too. The app's own set-up replaces it in each worker process."""
    from web.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)  # the level, uvicorn's loggers
    return _make_handler(settings.log_format)


def _header_values(scope: Scope, name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in scope.get("headers", []) if key == name]


def logged_path(scope: Scope) -> str:
    """The path as the client sent it (still percent-encoded: no control characters in the
    line), never the query string: ``?next=``, filters and search words may hold personal data."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else scope.get("path", "")
    path = path.partition("?")[0]
    return path if len(path) <= MAX_LOGGED_PATH else path[:MAX_LOGGED_PATH] + "…"


async def log_request(
    scope: Scope, receive: Receive, send: Send, app: ASGIApp, trusted: Sequence[Network]
) -> None:
    """Runs one HTTP request under its request id, echoes the id in ``X-Request-ID`` and writes
    one access line when the response is done (or failed)."""
    started = time.perf_counter()
    client = scope.get("client")
    peer = client[0] if client else ""
    request_id = request_id_for(peer, _header_values(scope, REQUEST_ID_HEADER), trusted)
    status = 0
    sent_bytes = 0

    async def send_logged(message: Message) -> None:
        nonlocal status, sent_bytes
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = [(k, v) for k, v in message.get("headers", []) if k != REQUEST_ID_HEADER]
            message = {**message, "headers": [*headers, (REQUEST_ID_HEADER, request_id.encode())]}
        elif message["type"] == "http.response.body":
            sent_bytes += len(message.get("body", b""))
        await send(message)

    with bound_id(request_id):
        try:
            await app(scope, receive, send_logged)
        except BaseException:
            status = status or 500
            raise
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            ip = client_address(peer, _header_values(scope, b"x-forwarded-for"), trusted)
            method = scope.get("method", "")
            path = logged_path(scope)
            access_log.info(
                "%s %s %s %.1f ms %d bytes client=%s",
                method,
                path,
                status,
                duration_ms,
                sent_bytes,
                ip,
                extra={
                    "method": method,
                    "path": path,
                    "status": status,
                    "duration_ms": duration_ms,
                    "bytes": sent_bytes,
                    "client_ip": ip,
                },
            )
