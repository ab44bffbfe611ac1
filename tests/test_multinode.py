"""Several machines, as the README's "Running on several machines" sets them up: two web processes
and two workers on one PostgreSQL and one S3 server (moto on loopback), each with its own var/
folder and the same keys, started with the guide's commands. Checked: a session and a photo work
on either web process, each scheduled job's work happens once, a SIGKILLed worker's job is taken
over within the lease, both web processes agree on the public figures within the documented
interval, and nothing is written under any var/.

PostgreSQL only: several processes on one SQLite file is not a multi-machine set-up.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from db.tables import Complaint, DailyReport, JobLease, TimelineEvent
from tests.browser import ROOT, LiveServer, free_port, start_server, stop_server
from tests.conftest import POSTGRES_URL, run_async
from tests.helpers import soup, valid_nik
from tests.images import jpeg_with_exif_gps
from tests.report_data import make_dataset
from tests.s3_server import ACCESS_KEY, REGION, SECRET_KEY
from web.city import get_city
from web.jobs.daily_report import report_due
from web.workflow.service import Actor, act
from web.workflow.sla import sla_condition

pytestmark = pytest.mark.postgres

REFRESH_SECONDS = 5  # ADUAN_PUBLIC_REFRESH_SECONDS
LEASE_SECONDS = 6  # ADUAN_JOB_LEASE_SECONDS


@dataclass
class Node:
    name: str
    var_dir: Path
    log_path: Path
    process: subprocess.Popen
    server: LiveServer | None = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class Cluster:
    web: list[Node]
    workers: list[Node]

    @property
    def nodes(self) -> list[Node]:
        return self.web + self.workers


def _vapid_key() -> str:
    from py_vapid import Vapid02

    from web.notifications.vapid import b64url

    signer = Vapid02()
    signer.generate_keys()
    return b64url(signer.private_key.private_numbers().private_value.to_bytes(32, "big"))


def _manage_setup(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """The guide's set-up step, which every node runs at start (all at once here)."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "web.manage", "setup", "--no-demo"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "web.worker"],
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture(scope="module")
def cluster(database, s3_server, tmp_path_factory):
    root = tmp_path_factory.mktemp("nodes")
    # What must be identical on every node (README): keys, release, city; one database, one bucket.
    shared = {
        "ADUAN_SECRET_KEY": secrets.token_urlsafe(32),
        "ADUAN_NIK_HASH_KEY": secrets.token_urlsafe(32),
        "ADUAN_VAPID_PRIVATE_KEY": _vapid_key(),
        "ADUAN_VAPID_SUBJECT": "mailto:it@cilegon.go.id",
        "ADUAN_RELEASE": "multinode-test",
        "ADUAN_CITY": "cilegon",
        "ADUAN_S3_ENDPOINT": s3_server,
        "ADUAN_S3_ACCESS_KEY": ACCESS_KEY,
        "ADUAN_S3_SECRET_KEY": SECRET_KEY,
        "ADUAN_S3_BUCKET": f"aduan-nodes-{uuid.uuid4().hex[:10]}",
        "ADUAN_S3_SECURE": "false",
        "ADUAN_S3_REGION": REGION,
        "ADUAN_MEDIA_DIR": "",  # the default (var/media), which S3 must leave unused
        "ADUAN_JOBS_IN_PROCESS": "false",
        "ADUAN_SLA_CHECK_SECONDS": "1",
        "ADUAN_PUBLIC_REFRESH_SECONDS": str(REFRESH_SECONDS),
        "ADUAN_REPORT_TIME": "00:00",  # yesterday's report is due from the start
        "ADUAN_JOB_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    web: list[Node] = []
    workers: list[Node] = []
    try:
        names = ("web-a", "web-b", "worker-a", "worker-b")
        setups = []
        for name in names:
            (root / name / "var").mkdir(parents=True)
            env = {**shared, "ADUAN_VAR_DIR": str(root / name / "var")}
            setups.append(_manage_setup(env, root / name / "process.log"))
        for name, setup in zip(names, setups, strict=True):
            assert setup.wait(120) == 0, (root / name / "process.log").read_text()[-3000:]
        for name in names:
            folder = root / name
            var_dir = folder / "var"
            env = {**shared, "ADUAN_VAR_DIR": str(var_dir)}
            log_path = folder / "process.log"
            if name.startswith("web"):
                process, server = start_server(folder, free_port(), **env)
                web.append(Node(name, var_dir, server.log_path, process, server))
            else:
                workers.append(Node(name, var_dir, log_path, _start_worker(env, log_path)))
        deadline = time.monotonic() + 30
        while not all("jobs running" in w.log() for w in workers):
            assert time.monotonic() < deadline, "\n".join(w.log()[-2000:] for w in workers)
            assert all(w.process.poll() is None for w in workers), workers[0].log()[-2000:]
            time.sleep(0.2)
        yield Cluster(web=web, workers=workers)
    finally:
        for node in web:
            stop_server(node.process)
        for node in workers:
            if node.process.poll() is None:
                node.process.terminate()
                try:
                    node.process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    node.process.kill()


# The first test: the workers made yesterday's report at start, before any table was emptied.
def test_each_scheduled_jobs_work_happens_once_with_two_workers(cluster):
    tz = ZoneInfo(get_city().timezone)
    day = report_due(datetime.now(UTC), report_time="00:00", tz=tz)
    deadline = time.monotonic() + 30
    while not run_async(lambda: DailyReport.count().where(DailyReport.day == day)):
        assert time.monotonic() < deadline, "no daily report"
        time.sleep(0.3)
    assert run_async(lambda: DailyReport.count()) == 1
    made = [
        line
        for w in cluster.workers
        for line in w.log().splitlines()
        if "daily_report" in line and " made" in line
    ]
    assert len(made) == 1, made

    # The SLA clock, every second in both workers: every overdue ticket escalated exactly once.
    now = datetime.now(UTC)
    run_async(
        lambda: make_dataset(
            seed=4, start=now - timedelta(days=10), end=now, now=now, tickets=120, calls=0
        )
    )

    def waiting() -> int:
        return run_async(
            lambda: Complaint.count().where(
                sla_condition("overdue", datetime.now(UTC))
                & Complaint.sla_overdue_marked_at.is_null()
            )
        )

    deadline = time.monotonic() + 30
    while waiting():
        assert time.monotonic() < deadline, "the workers did not escalate the overdue tickets"
        time.sleep(0.3)
    escalated = run_async(
        lambda: Complaint.select(Complaint.id).where(Complaint.sla_overdue_marked_at.is_not_null())
    )
    events = run_async(
        lambda: TimelineEvent.select(TimelineEvent.complaint).where(
            TimelineEvent.kind == "sla_overdue"
        )
    )
    assert len(escalated) > 5
    assert sorted(e["complaint"] for e in events) == sorted(c["id"] for c in escalated)


def test_a_session_and_a_photo_work_on_either_web_process(cluster):
    a, b = (node.server for node in cluster.web)
    phone = "081277700123"
    with httpx.Client(base_url=a.url, timeout=30) as on_a:
        on_a.get("/daftar")
        token = {"x-csrftoken": on_a.cookies["csrftoken"]}
        data = {"nik": valid_nik(123), "name": "Siti Aminah", "phone": phone}
        assert on_a.post("/daftar", data=data, headers=token).status_code == 303
        code = a.sign_in_code("+62" + phone[1:])
        signed_in = on_a.post("/masuk/kode", data={"code": code, "action": "verify"}, headers=token)
        assert signed_in.status_code in (200, 303)
        cookies = dict(on_a.cookies)

    # The session and the CSRF token made on web-a are good on web-b: file a complaint there.
    with httpx.Client(base_url=b.url, timeout=30, cookies=cookies) as on_b:
        account = on_b.get("/akun", headers={"Accept": "application/json"}).json()
        assert account["signed_in"] is True
        form = {
            "client_key": str(uuid.uuid4()),
            "classification": "complaint",
            "category": "jalan-rusak",
            "jawaban-jalan-rusak-jenis_kerusakan": "berlubang",
            "title": "Jalan berlubang dekat pasar",
            "description": "Lubang besar di tengah jalan, sudah dua minggu, berbahaya.",
            "address": "Jl. Ahmad Yani",
            "kelurahan": "",
            "privacy": "public",
            "latitude": "-6.0021",
            "longitude": "106.0443",
            "accuracy": "12",
        }
        photo = [("photos", ("IMG_1.jpg", jpeg_with_exif_gps(1600, 1200), "image/jpeg"))]
        filed = on_b.post(
            "/lapor",
            data=form,
            files=photo,
            headers={"x-csrftoken": cookies["csrftoken"]},
            follow_redirects=True,
        )
        assert filed.status_code == 200, filed.text[:500]
        links = [link["href"] for link in soup(filed).select(".photo-grid a")]
        assert len(links) == 1
        from_b = on_b.get(links[0])
        assert from_b.status_code == 200

    # The photo filed through web-b is served by web-a (from S3: neither keeps a local copy).
    with httpx.Client(base_url=a.url, timeout=30, cookies=cookies) as on_a:
        from_a = on_a.get(links[0])
        assert from_a.status_code == 200
        assert from_a.headers["content-type"].startswith("image/jpeg")
        assert from_a.content == from_b.content


def _verified_on_page(url: str) -> int:
    page = soup(httpx.get(f"{url}/transparansi", timeout=30))
    figure = page.select_one("[data-status=verified]")
    return int(figure.get_text().replace(".", "")) if figure else 0


def test_both_web_processes_show_a_change_within_two_refresh_intervals(cluster):
    urls = [node.server.url for node in cluster.web]
    now = datetime.now(UTC)
    run_async(
        lambda: make_dataset(
            seed=5, start=now - timedelta(days=10), end=now, now=now, tickets=60, calls=0
        )
    )

    async def verified_in_sql() -> int:
        rows = await Complaint.raw(
            "SELECT count(*) AS n FROM complaint WHERE status = 'verified' "
            "AND privacy IN ('public', 'anonymous') AND created_at >= {}",
            datetime.now(UTC) - timedelta(days=365),
        )
        return rows[0]["n"]

    def wait_until_both_show(expected: int, bound: float) -> None:
        deadline = time.monotonic() + bound
        seen = [_verified_on_page(url) for url in urls]
        while seen != [expected] * 2 and time.monotonic() < deadline:
            time.sleep(0.25)
            seen = [_verified_on_page(url) for url in urls]
        assert seen == [expected] * 2, f"web-a, web-b: {seen}, expected {expected}"

    # README: a change shows on every web process within two refresh intervals (the worker's
    # next run, then each process's next rebuild); a moment more for the requests themselves.
    bound = 2 * REFRESH_SECONDS + 3
    wait_until_both_show(run_async(verified_in_sql), bound)
    number = run_async(
        lambda: (
            Complaint.select(Complaint.number)
            .where((Complaint.status == "received") & (Complaint.privacy == "public"))
            .first()
        )
    )["number"]
    run_async(
        lambda: act(
            number, "verify", Actor(kind="system", id=None, role="operator"), expected_version=1
        )
    )
    wait_until_both_show(run_async(verified_in_sql), bound)


class TableLock:
    """Holds ``LOCK TABLE ... IN EXCLUSIVE MODE`` on its own connection until released: a job that
    writes to the table waits inside its transaction, holding its lease."""

    def __init__(self, table: str) -> None:
        self._locked = threading.Event()
        self._release = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._hold(table),), daemon=True)
        self._thread.start()
        assert self._locked.wait(10), "could not lock the table"

    async def _hold(self, table: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(POSTGRES_URL)
        try:
            async with conn.transaction():
                await conn.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
                self._locked.set()
                await asyncio.to_thread(self._release.wait)
        finally:
            await conn.close()

    def release(self) -> None:
        self._release.set()
        self._thread.join(10)


async def _backends_waiting_for_a_lock() -> int:
    rows = await Complaint.raw(
        "SELECT count(*) AS n FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return rows[0]["n"]


def test_a_killed_workers_job_is_taken_over_within_the_lease(cluster):
    now = datetime.now(UTC)
    run_async(
        lambda: make_dataset(seed=6, start=now - timedelta(days=3), end=now, now=now, tickets=40)
    )
    # Everything overdue so far escalated; then one ticket on time, to be made overdue below.
    deadline = time.monotonic() + 30
    while run_async(
        lambda: Complaint.count().where(
            sla_condition("overdue", datetime.now(UTC)) & Complaint.sla_overdue_marked_at.is_null()
        )
    ):
        assert time.monotonic() < deadline
        time.sleep(0.3)
    ticket = run_async(
        lambda: (
            Complaint.select(Complaint.id)
            .where(sla_condition("on_time", datetime.now(UTC)))
            .first()
        )
    )["id"]

    lock = TableLock("timeline_event")
    try:
        past = datetime.now(UTC) - timedelta(hours=1)
        run_async(
            lambda: Complaint.update(
                {Complaint.sla_due_at: past, Complaint.sla_warn_at: past - timedelta(hours=1)}
            ).where(Complaint.id == ticket)
        )
        # One worker takes the SLA clock's lease, marks the ticket and waits for the table.
        deadline = time.monotonic() + 20
        while not run_async(_backends_waiting_for_a_lock):
            assert time.monotonic() < deadline, "no worker started the escalation"
            time.sleep(0.1)
        holder = run_async(
            lambda: JobLease.select(JobLease.holder).where(JobLease.name == "sla_clock").first()
        )["holder"]
        pid = int(holder.split(":")[1])
        (victim,) = [w for w in cluster.workers if w.process.pid == pid]
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait(10)
        killed_at = time.monotonic()
    finally:
        lock.release()  # the dead worker's transaction is rolled back when PostgreSQL notices

    def escalations() -> int:
        return run_async(
            lambda: TimelineEvent.count().where(
                (TimelineEvent.complaint == ticket) & (TimelineEvent.kind == "sla_overdue")
            )
        )

    # The other worker takes the job over once the lease has expired: within the lease, plus the
    # SLA clock's interval (1 s) and a moment.
    bound = LEASE_SECONDS + 1 + 3
    while not escalations() and time.monotonic() < killed_at + bound:
        time.sleep(0.1)
    taken_over = time.monotonic() - killed_at
    assert escalations() == 1, f"not taken over within {bound} s"
    print(f"take-over after SIGKILL: {taken_over:.1f} s (lease {LEASE_SECONDS} s)")
    survivor = next(w for w in cluster.workers if w is not victim)
    assert survivor.process.poll() is None


def test_nothing_is_written_under_any_var_folder(cluster):
    """Last in this module: everything above ran on these nodes. Photos go to S3, sessions and
    keys come from the database and the environment; var/ stays empty on every node."""
    for node in cluster.nodes:
        written = [str(p.relative_to(node.var_dir)) for p in node.var_dir.rglob("*")]
        assert written == [], f"{node.name} wrote under var/: {written}"
    # No process fell over meanwhile (the killed worker aside).
    for node in cluster.web:
        assert node.process.poll() is None, node.log()[-2000:]
        assert not re.search(r"Traceback", node.log()), node.log()[-3000:]
