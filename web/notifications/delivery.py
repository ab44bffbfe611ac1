"""Sending the outbox: Web Push (pywebpush, in a worker thread) or WhatsApp (the messenger).

``deliver_due`` is called every few seconds by the job runner (in the web process, or in
``python -m web.worker``), possibly by several processes at once. Each call claims due rows with a
conditional UPDATE that sets ``claimed_until``; a row claimed by one process is invisible to the
others until that lease runs out, so two workers never send the same row. A worker that dies keeps
its rows only until the lease ends; then another sends them.

The guarantee is at-least-once: if a worker dies after the push service accepted a message and
before the row is marked sent, the message goes again. Each row is marked in its own small
transaction the moment its answer arrives, which keeps that window to milliseconds, and the Topic
header (the ticket number) plus the notification tag make a repeat replace the first on the phone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import partial

import anyio
import requests
from pywebpush import WebPushException, webpush

from db.engine import current_engine, write_transaction
from db.tables import Notification, PushSubscription
from web.forms import parse_int
from web.i18n import SOURCE_LOCALE, use_locale
from web.messaging.messenger import Messenger, MessengerError
from web.notifications.endpoints import (
    EndpointRefused,
    EndpointUnresolved,
    allowed_hosts,
    checked_address,
    pinned_session,
)
from web.notifications.rules import citizen_step, push_topic
from web.notifications.vapid import VapidKeys, vapid_keys
from web.settings import Settings

log = logging.getLogger("aduan.notifications")

SEND_TIMEOUT_SECONDS = 10
PARALLEL_SENDS = 8
BACKOFF_FIRST_SECONDS = 30
BACKOFF_MAX_SECONDS = 6 * 3600
RETRY_AFTER_MAX_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Outcome:
    """What a push service's answer means for the row."""

    result: str  # sent | gone | retry | failed
    error: str = ""
    retry_after_seconds: float | None = None


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if (seconds := parse_int(value, minimum=0, maximum=10**12)) is not None:
        return float(seconds)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def classify(status: int | None, *, retry_after: str | None, now: datetime, error: str) -> Outcome:
    """RFC 8030 answers: 201/202 delivered; 404/410 the subscription is gone for good; 429 and
    5xx (and no answer at all) are worth another try; any other 4xx will never work."""
    if status is not None and 200 <= status <= 202:
        return Outcome("sent")
    if status in (404, 410):
        return Outcome("gone", error)
    if status is None or status == 429 or status >= 500:
        return Outcome("retry", error, parse_retry_after(retry_after, now))
    return Outcome("failed", error)


def retry_delay(
    attempts: int, retry_after_seconds: float | None, rng: random.Random | None = None
) -> float:
    """Exponential backoff with jitter (30 s, 60 s, 120 s... up to 6 h, each 50-100 %), never
    sooner than the push service's Retry-After."""
    backoff = min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** max(0, attempts - 1))
    delay = backoff * (rng or random).uniform(0.5, 1.0)
    if retry_after_seconds is not None:
        delay = max(delay, min(retry_after_seconds, RETRY_AFTER_MAX_SECONDS))
    return delay


def push_payload(row: dict) -> str:
    """What the service worker receives: the words to show and the page to open. No personal data
    beyond the ticket's number, title and status (see rules.py)."""
    return json.dumps(
        {
            "title": row["title"],
            "body": row["body"],
            "url": row["url"],
            "tag": push_topic(row.get("number"), row["kind"]),
            "kind": row["kind"],
        },
        ensure_ascii=False,
    )


def remaining_ttl(row: dict, now: datetime) -> int:
    age = (now - row["created_at"]).total_seconds()
    return max(0, int(row["ttl_seconds"] - age))


def _send_push(row: dict, keys: VapidKeys, now: datetime, allowed: tuple[str, ...]) -> Outcome:
    """Runs in a worker thread: pywebpush is blocking (requests)."""
    subscription = {
        "endpoint": row["endpoint"],
        "keys": {"p256dh": row["p256dh"], "auth": row["auth"]},
    }
    try:
        # Checked again at each send: the name may point elsewhere since it was stored.
        address = checked_address(row["endpoint"], allowed)
    except EndpointRefused as exc:
        return Outcome("gone", f"endpoint refused: {exc}"[:300])
    except EndpointUnresolved as exc:
        return classify(None, retry_after=None, now=now, error=str(exc)[:300])
    session = pinned_session(address)
    try:
        webpush(
            subscription,
            data=push_payload(row),
            vapid_private_key=keys.signer,
            # A fresh dict each time: pywebpush writes aud and exp into it.
            vapid_claims={"sub": keys.subject, "exp": int(time.time()) + 12 * 3600},
            # What is left of the TTL: a retry must not make an old message live longer.
            ttl=remaining_ttl(row, now),
            headers={"Urgency": row["urgency"], "Topic": push_topic(row["number"], row["kind"])},
            timeout=SEND_TIMEOUT_SECONDS,
            requests_session=session,  # the checked address only, no redirects
        )
    except WebPushException as exc:
        status = exc.status_code
        reason = getattr(exc.response, "reason", "") if exc.response is not None else ""
        error = f"{status} {reason}".strip() if status else exc.message
        return classify(status, retry_after=exc.retry_after, now=now, error=error[:300])
    except requests.RequestException as exc:
        return classify(None, retry_after=None, now=now, error=repr(exc)[:300])
    except Exception as exc:  # bad keys in the subscription, and the like: retrying cannot help
        return Outcome("failed", repr(exc)[:300])
    finally:
        session.close()
    return Outcome("sent")


async def _send_whatsapp(row: dict, messenger: Messenger) -> Outcome:
    if not row["phone"] or not row["number"]:
        return Outcome("failed", "no phone number or ticket")
    try:
        await messenger.send_status(row["phone"], row["number"], row["body"])
    except MessengerError as exc:
        return Outcome("retry", str(exc)[:300])
    return Outcome("sent")


async def _claim(now: datetime, limit: int, lease_seconds: int) -> list[int]:
    due = (
        (Notification.status == "pending")
        & (Notification.next_attempt_at <= now)
        & (Notification.claimed_until.is_null() | (Notification.claimed_until < now))
    )
    async with write_transaction():
        query = (
            Notification.select(Notification.id)
            .where(due)
            .order_by(Notification.next_attempt_at)
            .order_by(Notification.id)
            .limit(limit)
        )
        if current_engine().engine_type == "postgres":
            # Rows another worker is claiming right now are skipped, not waited for. (SQLite needs
            # nothing: the IMMEDIATE transaction lets one writer in at a time.)
            query = query.lock_rows("UPDATE", skip_locked=True)
        candidates = [row["id"] for row in await query]
        if not candidates:
            return []
        # The same conditions again: only what is still unclaimed at this moment is taken.
        claimed = (
            await Notification.update(
                {
                    Notification.claimed_until: now + timedelta(seconds=lease_seconds),
                    Notification.attempts: Notification.attempts + 1,
                }
            )
            .where(Notification.id.is_in(candidates) & due)
            .returning(Notification.id)
        )
    return [row["id"] for row in claimed]


async def _load(ids: list[int]) -> list[dict]:
    return await Notification.select(
        Notification.id,
        Notification.channel,
        Notification.kind,
        Notification.title,
        Notification.body,
        Notification.url,
        Notification.urgency,
        Notification.ttl_seconds,
        Notification.attempts,
        Notification.created_at,
        Notification.subscription,
        Notification.subscription.endpoint.as_alias("endpoint"),
        Notification.subscription.p256dh.as_alias("p256dh"),
        Notification.subscription.auth.as_alias("auth"),
        Notification.complaint.number.as_alias("number"),
        Notification.citizen.phone.as_alias("phone"),
        Notification.citizen,
        Notification.complaint,
    ).where(Notification.id.is_in(ids))


async def _record(row: dict, outcome: Outcome, *, now: datetime, settings: Settings) -> str:
    """Store what happened to one row, in its own short transaction; returns the new status."""
    still_pending = (Notification.id == row["id"]) & (Notification.status == "pending")
    result = outcome.result
    changes: dict = {Notification.claimed_until: None, Notification.last_error: outcome.error}
    if result == "retry":
        next_try = now + timedelta(
            seconds=retry_delay(row["attempts"], outcome.retry_after_seconds)
        )
        if row["attempts"] >= settings.push_max_attempts:
            result = "failed"
            changes[Notification.last_error] = (
                f"gave up after {row['attempts']} attempts: {outcome.error}"[:300]
            )
        elif row["channel"] == "push" and remaining_ttl(row, next_try) == 0:
            result = "failed"
            changes[Notification.last_error] = f"expired before delivery: {outcome.error}"[:300]
        else:
            changes[Notification.next_attempt_at] = next_try
    if result != "retry":
        changes[Notification.status] = result
    if result == "sent":
        changes[Notification.sent_at] = now
    async with write_transaction():
        await Notification.update(changes).where(still_pending)
        if row["subscription"] is not None and result == "sent":
            await PushSubscription.update({PushSubscription.last_sent_at: now}).where(
                PushSubscription.id == row["subscription"]
            )
        elif row["subscription"] is not None and result == "gone":
            # Whatever else waits for this subscription can never arrive either.
            await Notification.update(
                {Notification.status: "gone", Notification.claimed_until: None}
            ).where(
                (Notification.subscription == row["subscription"])
                & (Notification.status == "pending")
            )
            await PushSubscription.delete().where(PushSubscription.id == row["subscription"])
            if row["citizen"] is not None and settings.notify_whatsapp_fallback:
                await _whatsapp_instead(row, now=now)
    return "pending" if result == "retry" else result


async def _whatsapp_instead(row: dict, *, now: datetime) -> None:
    """The citizen's last device is gone: tell them by WhatsApp instead, so that a phone reset
    does not leave them without news (the fallback is decided at queueing time otherwise)."""
    if await PushSubscription.exists().where(PushSubscription.citizen == row["citizen"]):
        return
    with use_locale(SOURCE_LOCALE):
        step = citizen_step(row["kind"])
    await Notification.insert(
        Notification(
            channel="whatsapp",
            citizen=row["citizen"],
            complaint=row["complaint"],
            kind=row["kind"],
            title=row["title"],
            body=step[:400],
            url=row["url"],
            urgency=row["urgency"],
            ttl_seconds=row["ttl_seconds"],
            next_attempt_at=now,
            created_at=now,
        )
    )


async def _deliver(
    row: dict, *, settings: Settings, messenger: Messenger, now: datetime, gate: asyncio.Semaphore
) -> str:
    async with gate:
        if row["channel"] == "whatsapp":
            outcome = await _send_whatsapp(row, messenger)
        elif row["endpoint"] is None:
            # The subscription was removed (by its owner, or after a 410) after this was queued.
            outcome = Outcome("gone", "subscription removed")
        else:
            allowed = allowed_hosts(settings.push_allowed_hosts)
            send = partial(_send_push, row, vapid_keys(settings), now, allowed)
            outcome = await anyio.to_thread.run_sync(send)
        status = await _record(row, outcome, now=now, settings=settings)
    if status != "sent":
        log.info("notification %s (%s): %s %s", row["id"], row["kind"], status, outcome.error)
    return status


async def deliver_due(
    settings: Settings, messenger: Messenger, *, now: datetime | None = None, limit: int = 50
) -> int:
    """Claim up to ``limit`` due notifications and send them; returns how many were handled
    (sent, rescheduled, failed or gone). 0 means nothing is due right now."""
    now = now or datetime.now(UTC)
    ids = await _claim(now, limit, settings.push_lease_seconds)
    if not ids:
        return 0
    rows = await _load(ids)
    gate = asyncio.Semaphore(PARALLEL_SENDS)
    results = await asyncio.gather(
        *[
            _deliver(row, settings=settings, messenger=messenger, now=now, gate=gate)
            for row in rows
        ],
        return_exceptions=True,
    )
    for row, result in zip(rows, results, strict=True):
        if isinstance(result, BaseException):
            # The row keeps its claim until the lease ends, then it is tried again.
            log.error("notification %s not recorded", row["id"], exc_info=result)
    return len(rows)


async def forget_old_notifications(*, now: datetime, keep_days: int) -> str:
    """Delete finished outbox rows (sent, failed, gone) older than ``keep_days``: the outbox of a
    national service would otherwise grow by millions of rows a month. Pending rows stay."""
    cutoff = now - timedelta(days=keep_days)
    async with write_transaction():
        deleted = (
            await Notification.delete()
            .where((Notification.status != "pending") & (Notification.created_at < cutoff))
            .returning(Notification.id)
        )
    return f"{len(deleted)} deleted" if deleted else ""
