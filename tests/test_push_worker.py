"""A worker killed mid-queue and started again sends each notification once.

``python -m web.worker`` runs against the test database; the fake push service answers the first
few requests and then holds the rest. The test kills the worker with SIGKILL while those requests
are held (after every answer it already had was recorded), starts a new one, and checks that the
push service accepted every notification exactly once. Holding, not a timer, keeps the kill inside
the window on a slow or busy machine. What this cannot cover is a kill in the millisecond between the push service's 201 and
the commit that records it: that message would go twice (at-least-once; see delivery.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime

from db.tables import Citizen, Notification, PushSubscription
from tests.browser import ROOT
from tests.helpers import db, register

COUNT = 30
ANSWERED_FIRST = 5


def start_worker(log_path):
    env = {**os.environ, "ADUAN_PUSH_LEASE_SECONDS": "3", "PYTHONUNBUFFERED": "1"}
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "web.worker"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def test_a_restart_mid_queue_sends_each_notification_once(make_client, push_service, tmp_path):
    client = make_client()
    register(client)
    keys = push_service.subscription("citizen")

    async def queue():
        citizen = (await Citizen.select(Citizen.id).first())["id"]
        now = datetime.now(UTC)
        subscription = (
            await PushSubscription.insert(
                PushSubscription(
                    endpoint=keys.endpoint,
                    p256dh=keys.p256dh,
                    auth=keys.auth,
                    citizen=citizen,
                    created_at=now,
                )
            ).returning(PushSubscription.id)
        )[0]["id"]
        await Notification.insert(
            *[
                Notification(
                    channel="push",
                    subscription=subscription,
                    citizen=citizen,
                    kind="verify",
                    title=f"Uji {i:02d}",
                    body="isi",
                    url="/laporan",
                    urgency="normal",
                    ttl_seconds=3600,
                    next_attempt_at=now,
                    created_at=now,
                )
                for i in range(COUNT)
            ]
        )

    db(client, queue)

    def sent_count() -> int:
        return db(client, lambda: Notification.count().where(Notification.status == "sent"))

    push_service.hold_after(ANSWERED_FIRST)
    log_path = tmp_path / "worker.log"
    worker = start_worker(log_path)
    try:
        # Kill it while requests wait for their answer, once the answers it had are all recorded.
        deadline = time.monotonic() + 60
        while not (push_service.waiting and sent_count() == ANSWERED_FIRST):
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.02)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        assert len(push_service.accepted) == ANSWERED_FIRST

        push_service.release()
        worker = start_worker(log_path)
        deadline = time.monotonic() + 60
        while sent_count() < COUNT:
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.1)
    finally:
        worker.kill()
        worker.wait(timeout=10)

    titles = Counter(request.decrypted["title"] for request in push_service.accepted)
    assert titles == Counter(f"Uji {i:02d}" for i in range(COUNT))  # each once, none missing
    # Some requests were cut off by the kill and sent again by the second worker.
    assert len(push_service.requests) > COUNT
    rows = db(client, lambda: Notification.select(Notification.status, Notification.attempts))
    assert {row["status"] for row in rows} == {"sent"}
    assert max(row["attempts"] for row in rows) == 2
