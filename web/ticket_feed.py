"""Committed ticket changes, heard by every web process (the operators' live inbox).

Every change to a ticket (filed, an action, a rating, an SLA escalation) writes a timeline row in
its own transaction, and calls ``announce`` in that same transaction, so nothing that rolls back
is ever announced:

- PostgreSQL: ``announce`` is a ``NOTIFY`` (delivered by PostgreSQL at commit, dropped at
  rollback). Each web process LISTENs on one connection of its own, opened when the first stream
  subscribes; it never borrows from the pool.
- SQLite (one machine, several processes): ``announce`` does nothing; the ``timeline_event``
  table is the marker. Each process reads ``max(id)`` every ``poll_seconds`` (a primary key: one
  index step) and, when it grew, the tickets of the new rows. A change is seen at most
  ``poll_seconds`` after its commit.

In the process, ``TicketFeed`` fans each change out to its subscribers (the open event streams)
in memory; the only per-process state is that list of open streams.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Protocol

from piccolo.engine.postgres import PostgresEngine

from db.engine import application_name, current_engine
from db.tables import TimelineEvent

log = logging.getLogger("aduan.feed")

CHANNEL = "aduan_ticket_changed"
# NOTIFY payloads stop at 8000 bytes; a bigger batch is announced as "something changed".
MAX_PAYLOAD = 7000
# PostgreSQL: a lost LISTEN connection is retried after 1 s, 2 s, ... at most this long.
RECONNECT_MAX_SECONDS = 10.0
# PostgreSQL: the LISTEN connection is checked this often (a dead TCP link sends no error).
LISTEN_CHECK_SECONDS = 30.0


class FeedSettings(Protocol):
    @property
    def uses_postgres(self) -> bool: ...
    @property
    def resolved_database_url(self) -> str: ...


async def announce(*complaint_ids: int) -> None:
    """Tell every web process that these tickets changed, once the caller's transaction commits.
    Call it inside that ``write_transaction()``."""
    engine = current_engine()
    if not isinstance(engine, PostgresEngine):
        return  # SQLite: the timeline row written in the same transaction is the announcement
    payload = ",".join(str(i) for i in sorted(set(complaint_ids)))
    await TimelineEvent.raw(
        "SELECT pg_notify({}, {})", CHANNEL, payload if len(payload) <= MAX_PAYLOAD else ""
    )


@dataclass(eq=False)
class Subscriber:
    """One open stream: the tickets changed since it last looked, and a flag that wakes it."""

    changed: set[int] = field(default_factory=set)
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def take(self) -> list[int]:
        ids = sorted(self.changed)
        self.changed.clear()
        self.wake.clear()
        return ids


class TicketFeed:
    """This process's one listener and its subscribers. Started by the first subscriber."""

    def __init__(self, settings: FeedSettings, *, poll_seconds: float) -> None:
        self.settings = settings
        self.poll_seconds = poll_seconds
        self.subscribers: set[Subscriber] = set()
        self._task: asyncio.Task | None = None
        self._ready = asyncio.Event()
        self._start_lock = asyncio.Lock()

    def publish(self, ids: set[int]) -> None:
        """An empty set means "something changed" (a reconnect, a batch too big to name)."""
        for subscriber in self.subscribers:
            subscriber.changed |= ids
            subscriber.wake.set()

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscriber]:
        """Yields once the listener hears changes: nothing committed after that is missed."""
        async with self._start_lock:
            if self._task is None or self._task.done():
                self._ready.clear()
                # A context of its own: its log lines must not carry the first stream's request id.
                self._task = asyncio.create_task(
                    self._listen(), name="ticket-feed", context=contextvars.Context()
                )
        await self._ready.wait()
        subscriber = Subscriber()
        self.subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            self.subscribers.discard(subscriber)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _listen(self) -> None:
        if self.settings.uses_postgres:
            await self._listen_postgres()
        else:
            await self._poll_sqlite()

    async def _poll_sqlite(self) -> None:
        last = None
        while True:
            try:
                rows = await TimelineEvent.raw("SELECT max(id) AS top FROM timeline_event")
                top = rows[0]["top"] or 0
                if last is not None and top > last:
                    changed = await TimelineEvent.raw(
                        "SELECT DISTINCT complaint FROM timeline_event WHERE id > {} AND id <= {}",
                        last,
                        top,
                    )
                    self.publish({row["complaint"] for row in changed})
                if last is None or top != last:
                    last = top  # lower after the tables were emptied (tests): start again there
                self._ready.set()
            except Exception:
                log.exception("ticket feed: reading the timeline failed; trying again")
                self._ready.set()  # streams open anyway; the inbox's 30 s refresh covers the gap
            await asyncio.sleep(self.poll_seconds)

    async def _listen_postgres(self) -> None:
        import asyncpg

        def heard(_conn: object, _pid: int, _channel: str, payload: str) -> None:
            ids = {int(part) for part in payload.split(",") if part.isdigit()}
            self.publish(ids)

        delay = 1.0
        first = True
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(
                    self.settings.resolved_database_url,
                    server_settings={"application_name": application_name("listen")},
                )
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, heard)
                self._ready.set()
                if not first:
                    self.publish(set())  # whatever was announced while we were away
                first, delay = False, 1.0
                while not lost.is_set():
                    with suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), timeout=LISTEN_CHECK_SECONDS)
                    if not lost.is_set():  # a dead link says nothing: ask
                        await asyncio.wait_for(conn.execute("SELECT 1"), timeout=10)
                raise ConnectionError("the server closed the connection")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("ticket feed: LISTEN connection lost (%s); reconnecting", exc)
                # Streams keep their subscription: they hear again after the reconnect, and the
                # inbox's 30 s refresh covers the gap.
                self._ready.set()
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)
            finally:
                if conn is not None:
                    with suppress(Exception):
                        await conn.close()
