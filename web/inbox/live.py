"""The operators' live inbox: GET /operator/langsung, a server-sent event stream.

It says only "the inbox changed" (``inbox-changed``, with the changed tickets' ids); the page then
refreshes its list with the same request as its 30 s refresh, which stays as the fallback. The
changes come from ``web.ticket_feed`` (committed changes of every process). A stream holds no
database connection: it reads the session once per heartbeat, through the pool.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import suppress

from litestar import Request, get
from litestar.exceptions import HTTPException
from litestar.response import ServerSentEvent, ServerSentEventMessage

from web.deps import services
from web.http import BadParameter
from web.i18n import _
from web.limits import Slot, release_slot, renew_slot, take_slot
from web.photos.serving import SKIP_COMPRESSION
from web.staff.access import current_staff, is_event_stream, still_signed_in
from web.staff.policy import READERS
from web.ticket_feed import TicketFeed

# EventSource reconnects this long after a dropped stream (milliseconds).
RETRY_MS = 3000
# At most one event per second per stream: a burst of changes becomes one refresh.
MIN_GAP_SECONDS = 1.0


class LiveInbox:
    """This process's feed, which its open streams subscribe to."""

    def __init__(self, feed: TicketFeed) -> None:
        self.feed = feed


def lease_seconds(heartbeat: int) -> int:
    """How long a stream's place is held without renewal: three keep-alives, so a stream that
    renews at each one keeps it, and a process that died frees its places within that time."""
    return 3 * heartbeat


def live_inbox(request: Request) -> LiveInbox:
    return request.app.state.live_inbox


async def _events(
    request: Request, live: LiveInbox, slot: Slot, heartbeat: int, idle_seconds: int
) -> AsyncIterator[ServerSentEventMessage]:
    member = current_staff(request)
    try:
        async with live.feed.subscribe() as subscriber:
            # Sent once the feed listens: whatever commits after this reaches the page.
            yield ServerSentEventMessage(event="ready", data="", retry=RETRY_MS)
            sent_at, checked_at = 0.0, time.monotonic()
            while True:
                with suppress(TimeoutError):
                    await asyncio.wait_for(subscriber.wake.wait(), timeout=heartbeat)
                now = time.monotonic()
                if now - checked_at >= heartbeat:  # also while events keep coming
                    if not await still_signed_in(request, member, idle_seconds):
                        yield ServerSentEventMessage(event="signed-out", data="")
                        return
                    if not await renew_slot(slot, lease_seconds=lease_seconds(heartbeat)):
                        return  # its place lapsed (a stall): EventSource asks again
                    checked_at = now
                if not subscriber.wake.is_set():
                    yield ServerSentEventMessage(data=None, comment="ping")
                    continue
                await asyncio.sleep(max(0.0, sent_at + MIN_GAP_SECONDS - now))
                sent_at = time.monotonic()
                ids = subscriber.take()
                yield ServerSentEventMessage(
                    event="inbox-changed", data=",".join(str(i) for i in ids)
                )
    finally:
        await release_slot(slot)


@get(
    "/operator/langsung",
    name="inbox:live",
    opt={"roles": READERS, SKIP_COMPRESSION: True},  # gzip would hold events back
)
async def inbox_live(request: Request) -> ServerSentEvent:
    if not is_event_stream(request):
        # Only EventSource waits for events; a link, a crawler or a test walking every route
        # gets an answer at once instead of a connection that never ends.
        raise BadParameter(_("Alamat ini hanya untuk pembaruan otomatis kotak masuk."))
    settings = services(request).settings
    member = current_staff(request)
    # The places are leased in the database, so the limit holds across every web process and
    # concurrent tabs. A stream whose client left before it started holds its place until the
    # lease ends (three keep-alives). The refused tab keeps its 30 s refresh.
    slot = await take_slot(
        f"live-stream:{member.id}",
        slots=settings.live_streams_per_staff,
        lease_seconds=lease_seconds(settings.live_heartbeat_seconds),
    )
    if slot is None:
        raise HTTPException(status_code=429)
    return ServerSentEvent(
        _events(
            request,
            live_inbox(request),
            slot,
            settings.live_heartbeat_seconds,
            settings.staff_idle_minutes * 60,
        ),
        headers={"Cache-Control": "no-store"},
    )
