"""Outbox soak: complaints filed through the page in real Chromium under mixed network faults,
then the network made good and the outbox timed while it drains (issue 10).

    .venv/bin/python bench/outbox_soak.py                  # 200 complaints, its own SQLite file
    .venv/bin/python bench/outbox_soak.py --quick          # 30 complaints, a smoke run
    .venv/bin/python bench/outbox_soak.py --postgres postgresql://postgres@127.0.0.1:5432/aduan_soak

A signed-up citizen on one phone (360 px Chromium context, GPS and background sync allowed)
files every complaint through the form, as a person does, while the fault proxy in front of the
server drops POST /lapor before or after the server saw it, delays answers 1-10 s, answers 502/503
or a captive portal's 200 HTML; the phone also goes offline, pages are reloaded and closed
mid-send, stretches of lie-fi fail every request (the last tenth of the run among them), and the
server is SIGKILLed and restarted (same port, same database). Midway the phone is shared: the
owner's last reports are held back (503), the owner signs out keeping them, a relative signs up
and files a few, then hands the phone back. Then every fault is lifted, with a page left open and
no tap, and the script waits for each filed item's ``client_key`` to appear in the database.

Prints a Markdown table: filed, exactly once, lost, duplicated, waiting (not shown as sent in the
phone's outbox at the end), wrong account, wrong number (shown as sent with another number than the
server's), drain time (seconds from "network good" to the last item arriving). Exits 1 if anything
was lost, duplicated, filed under the wrong account or shown with a wrong number, or the drain took
more than 30 s. A timing run on a real browser: not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.browser import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    new_phone,
    start_server,
)
from tests.fault_proxy import FaultProxy  # noqa: E402
from tests.images import textured_camera_jpeg  # noqa: E402

DRAIN_TARGET_S = 30
HELD, GUEST = 3, 5  # the shared phone: owner's items held back, then the guest's items
CATEGORIES = ("jalan-rusak", "sampah", "lampu-jalan", "drainase-banjir")
# What the proxy does to POST /lapor in the "mixed" stretches, by weight (the original run's mix).
MIX = {
    "pass": 40,
    "drop_before": 12,
    "drop_after": 12,
    "delay": 14,
    "status": 12,
    "captive": 10,
}


# --- The server: our own process, killed and restarted on the same port and database ---------
class AppServer:
    def __init__(self, folder: Path, database_url: str) -> None:
        self.folder = folder
        self.port = free_port()
        self.env = {"ADUAN_DATABASE_URL": database_url, "ADUAN_MESSENGER": "dev"}
        self.process = None
        self.live = None
        self.kills = 0
        self.lock = threading.Lock()
        self.restart: threading.Timer | None = None

    def start(self) -> None:
        self.process, self.live = start_server(self.folder, self.port, **self.env)

    def kill_for(self, seconds: float) -> None:
        """SIGKILL (no shutdown hook runs, requests in flight die with the process), then start
        again on the same port after ``seconds``, while the phone goes on."""
        with self.lock:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.kills += 1
            self.restart = threading.Timer(seconds, self.ensure_up)
            self.restart.start()

    def ensure_up(self) -> None:
        with self.lock:
            if self.restart is not None:
                self.restart.cancel()
                self.restart = None
            if self.process is None or self.process.poll() is not None:
                self.start()

    @property
    def down(self) -> bool:
        return self.process.poll() is not None

    def stop(self) -> None:
        if self.restart is not None:
            self.restart.cancel()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_lines(self, pattern: str) -> list[str]:
        text = self.live.log_path.read_text(errors="replace")
        return [line for line in text.splitlines() if re.search(pattern, line)]


def prepare_database(database_url: str, var_dir: Path) -> None:
    """Migrations and city data, as ``scripts/run`` does; earlier runs' rate counters forgotten."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADUAN_")}
    env.update(ADUAN_VAR_DIR=str(var_dir), ADUAN_DATABASE_URL=database_url)
    if database_url.startswith("postgres"):
        in_thread(lambda: create_postgres_database(database_url))
    subprocess.run(
        [sys.executable, "-m", "web.manage", "setup", "--no-demo"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    Database(database_url).execute("DELETE FROM rate_limit")


async def create_postgres_database(url: str) -> None:
    import asyncpg

    base, _, name = url.rpartition("/")
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


def in_thread(make_coroutine):
    """Run a coroutine on its own loop in a worker thread: Playwright's sync API keeps a loop
    running on this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make_coroutine())).result()


class Database:
    """Read-only checks against the server's database, SQLite file or PostgreSQL."""

    def __init__(self, url: str) -> None:
        self.url = url

    def fetch(self, sql: str, *args) -> list[tuple]:
        if self.url.startswith("postgres"):
            import asyncpg

            async def run():
                conn = await asyncpg.connect(self.url)
                try:
                    return [tuple(r) for r in await conn.fetch(sql, *args)]
                finally:
                    await conn.close()

            return in_thread(run)
        with sqlite3.connect(self.url.removeprefix("sqlite:///"), timeout=10) as conn:
            return conn.execute(re.sub(r"\$\d+", "?", sql), args).fetchall()

    def execute(self, sql: str) -> None:
        self.fetch(sql)

    def complaints(self, title_prefix: str) -> list[dict]:
        rows = self.fetch(
            "SELECT client_key, number, citizen, title FROM complaint WHERE title LIKE $1",
            title_prefix + "%",
        )
        return [
            {"key": str(uuid.UUID(str(k))), "number": n, "citizen": c, "title": t}
            for k, n, c, t in rows
        ]

    def citizen_id(self, phone_e164: str) -> int:
        [(citizen_id,)] = self.fetch("SELECT id FROM citizen WHERE phone = $1", phone_e164)
        return citizen_id


# --- The phone ---------------------------------------------------------------------------------
@dataclass
class Account:
    nik: str
    name: str
    phone_local: str
    phone_e164: str
    citizen_id: int | None = None


@dataclass
class Filed:
    key: str
    title: str
    account: Account
    filed_at: float
    faults: list[str] = field(default_factory=list)


def make_account(rng: random.Random, name: str) -> Account:
    from tests.helpers import valid_nik

    digits = "".join(str(rng.randint(0, 9)) for _ in range(8))
    return Account(
        nik=valid_nik(rng.randint(1, 9999)),
        name=name,
        phone_local=f"0812{digits}",
        phone_e164=f"+62812{digits}",
    )


def sign_up(page, base: str, server: AppServer, account: Account) -> None:
    page.goto(f"{base}/daftar")
    page.fill("#nik", account.nik)
    page.fill("#name", account.name)
    page.fill("#phone", account.phone_local)
    page.click("button[type=submit]")
    page.wait_for_url("**/masuk/kode")
    page.fill("#code", server.live.sign_in_code(account.phone_e164))
    page.click("button[value=verify]")
    page.wait_for_url("**/lapor")


def codes_for(server: AppServer, account: Account) -> list[str]:
    """Every sign-in code the dev messenger logged for this account, oldest first."""
    pattern = rf"DEV MESSENGER code for {re.escape(account.phone_e164)}: (\d{{6}})"
    return re.findall(pattern, server.live.log_path.read_text(errors="replace"))


def outbox(page) -> list[dict]:
    """The phone's outbox as the page sees it; [] while the page is between documents."""
    for _ in range(50):
        try:
            return (
                page.evaluate(
                    """() => window.AduanOutbox ? AduanOutbox.all().then(items => items.map(i => ({
                    key: i.key, state: i.state, number: i.number || null,
                    attempts: i.attempts || 0, problem: i.lastProblem || i.error || null,
                }))) : null"""
                )
                or []
            )
        except PlaywrightError:
            time.sleep(0.1)  # a navigation destroyed the context mid-call
    return []


class Phone:
    """One browser context (the phone) with one open page at a time."""

    def __init__(self, context, base: str) -> None:
        self.context = context
        self.base = base
        self.page = context.new_page()
        self.offline = False
        self.reloads = 0
        self.closes = 0
        self.offline_windows = 0
        self.form_failures = 0
        self.bad_urls: list[str] = []
        self.page.on("framenavigated", self._watch_url)

    def _watch_url(self, frame) -> None:
        # The old outbox took a captive portal's 200 as success and went to /undefined?terkirim=1.
        if frame == self.page.main_frame and "undefined" in frame.url:
            self.bad_urls.append(frame.url)

    def set_offline(self, offline: bool) -> None:
        if offline and not self.offline:
            self.offline_windows += 1
        self.offline = offline
        self.context.set_offline(offline)

    def open_form(self) -> None:
        """Open /lapor, again and again as a citizen would, until the form is there."""
        deadline = time.monotonic() + 90
        while True:
            try:
                self.page.goto(f"{self.base}/lapor", wait_until="domcontentloaded")
                self.page.wait_for_function(
                    "() => (document.querySelector('input[name=client_key]') || {}).value",
                    timeout=5_000,
                )
                return
            except PlaywrightError:
                # E.g. the server is down and the shell page came back as the proxy's 502.
                self.form_failures += 1
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def on_form(self) -> bool:
        try:
            return urlsplit(self.page.url).path == "/lapor" and bool(
                self.page.evaluate(
                    "(() => { const k = document.querySelector('input[name=client_key]');"
                    " return k && k.value !== '' && document.querySelector('#title').value === ''; })()"
                )
            )
        except PlaywrightError:
            return False

    def file(self, title: str, description: str, category: str, photo: bytes | None) -> str:
        """Fill the form and submit; returns the item's key once the outbox holds it."""
        if not self.on_form():
            self.open_form()
        page = self.page
        key = page.input_value("input[name=client_key]")
        page.select_option("#category", category)
        page.fill("#title", title)
        page.fill("#description", description)
        page.click("[data-gps-button]")
        page.wait_for_function("() => document.querySelector('[data-gps-lat]').value !== ''")
        if photo:
            page.set_input_files(
                "#photos",
                files=[{"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": photo}],
            )
        page.click("button[type=submit]:has-text('Kirim laporan')")
        deadline = time.monotonic() + 30
        while not any(item["key"] == key for item in outbox(page)):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the form never put {key} in the outbox")
            time.sleep(0.05)
        return key

    def wait_until_answered(self, key: str, limit: float) -> None:
        """As a citizen waits after tapping "Kirim": until the page moved on (ticket page, or a
        fresh form for the next report) or ``limit`` seconds passed."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                if urlsplit(self.page.url).path != "/lapor":
                    return
                current = self.page.evaluate(
                    "(() => { const k = document.querySelector('input[name=client_key]');"
                    " return k ? k.value : null; })()"
                )
                if current and current != key:
                    return
            except PlaywrightError:
                pass
            time.sleep(0.1)

    def sign_out(self) -> None:
        """Sign out on /akun, keeping this account's unsent reports on the phone (the default)."""
        self.page.goto(f"{self.base}/akun")
        self.page.click("form[data-outbox-sign-out] button[type=submit]")
        self.page.wait_for_url(lambda url: urlsplit(url).path == "/")

    def sign_in(self, account: Account, server: AppServer) -> None:
        codes_before = len(codes_for(server, account))
        self.page.goto(f"{self.base}/masuk")
        self.page.fill("#phone", account.phone_local)
        self.page.click("button[type=submit]")
        self.page.wait_for_url("**/masuk/kode")
        deadline = time.monotonic() + 10
        while len(codes := codes_for(server, account)) == codes_before:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no new sign-in code for {account.phone_e164}")
            time.sleep(0.1)
        self.page.fill("#code", codes[-1])
        self.page.click("button[value=verify]")
        self.page.wait_for_url(lambda url: urlsplit(url).path != "/masuk/kode")

    def wait_sent(self, keys: list[str], limit: float) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            states = {item["key"]: item["state"] for item in outbox(self.page)}
            if all(states.get(key) == "sent" for key in keys):
                return
            time.sleep(0.25)

    def reload(self) -> None:
        self.reloads += 1
        # Offline and not cached, or a navigation raced it: the next form opens anyway.
        with contextlib.suppress(PlaywrightError):
            self.page.reload(wait_until="domcontentloaded")

    def close_and_reopen(self) -> None:
        self.closes += 1
        self.page.close()
        self.page = self.context.new_page()
        self.page.on("framenavigated", self._watch_url)
        self.open_form()


# --- Faults --------------------------------------------------------------------------------
def mixed(proxy: FaultProxy, rng: random.Random) -> None:
    proxy.set_fault(
        "mix", weights=MIX, seed=rng.randrange(2**31), seconds=(1.0, 10.0), status=(502, 503)
    )


def lie_fi(proxy: FaultProxy) -> None:
    """Online, but every request fails (not only filings)."""
    proxy.set_fault("drop_before", every_request=True)


def all_good(proxy: FaultProxy) -> None:
    proxy.set_fault("pass")


@dataclass
class Schedule:
    """Which item numbers start which fault; seeded, so a run can be repeated."""

    offline: dict[int, int]  # first item -> how many items filed offline
    kills: dict[int, float]  # item -> seconds the server stays dead from then on
    lie_fi: dict[int, int]
    reloads: set[int]
    closes: set[int]
    photos: set[int]
    switch: int  # first of HELD owner's items, then GUEST items by another account

    @classmethod
    def make(cls, n: int, rng: random.Random) -> Schedule:
        switch = rng.randint(n // 3, n // 2)
        # Faults do not start during the account switch (signing in needs a network).
        room = [i for i in range(3, n - 4) if not switch - 3 <= i <= switch + HELD + GUEST]
        offline_windows = 9 if n >= 100 else 3
        kills = 3 if n >= 100 else 1
        # The last tenth is filed in lie-fi, so a backlog waits when the network becomes good.
        tail = n - max(5, n // 10)
        room = [i for i in room if i < tail - 6]
        starts = iter(rng.sample(room, k=offline_windows + kills + 1))
        return cls(
            switch=switch,
            offline={next(starts): rng.randint(2, 6) for _ in range(offline_windows)},
            kills={next(starts): rng.uniform(3, 12) for _ in range(kills)},
            lie_fi={next(starts): rng.randint(5, 10), tail: n - tail},
            reloads={i for i in range(n) if rng.random() < 0.07},
            closes={i for i in range(n) if rng.random() < 0.04},
            photos={i for i in range(n) if rng.random() < 0.25},
        )


# --- The run ---------------------------------------------------------------------------------
def run(args) -> int:
    rng = random.Random(args.seed)
    run_id = f"{args.seed}-{uuid.uuid4().hex[:6]}"
    title_prefix = f"Soak {run_id} "
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="aduan-soak-") as tmp:
        folder = Path(tmp)
        database_url = args.postgres or f"sqlite:///{folder / 'soak.sqlite3'}"
        prepare_database(database_url, folder / "var")
        db = Database(database_url)
        server = AppServer(folder, database_url)
        server.start()
        proxy = FaultProxy(server.live.url)
        proxy.start()
        photo = textured_camera_jpeg(1280, 960)
        schedule = Schedule.make(args.complaints, rng)
        filed: list[Filed] = []
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                context = new_phone(browser)
                phone = Phone(context, proxy.url)
                # New people every run, whatever the seed: a reused PostgreSQL database already
                # knows the last run's NIKs and numbers.
                people = random.SystemRandom()
                account = make_account(people, "Warga Uji Soak")
                sign_up(phone.page, proxy.url, server, account)
                account.citizen_id = db.citizen_id(account.phone_e164)
                # The worker must control the page before the first fault (offline shell pages).
                phone.page.evaluate("navigator.serviceWorker.ready")
                phone.open_form()

                ends: dict[int, list] = {}
                owner, guest = account, make_account(people, "Tamu Uji Soak")
                shared = range(schedule.switch, schedule.switch + HELD + GUEST)
                in_lie_fi = False

                def end_lie_fi() -> None:
                    nonlocal in_lie_fi
                    mixed(proxy, rng)
                    in_lie_fi = False

                mixed(proxy, rng)
                for i in range(args.complaints):
                    for undo in ends.pop(i, []):
                        undo()
                    if i == shared.start:
                        # A shared phone: the owner's last reports cannot leave (503) before the
                        # owner signs out and a relative signs in; they must not go as theirs.
                        for undo in [u for pending in ends.values() for u in pending]:
                            undo()
                        ends.clear()
                        server.ensure_up()
                        proxy.set_fault("status", status=503)
                    elif i == shared.start + HELD:
                        phone.sign_out()
                        sign_up(phone.page, proxy.url, server, guest)
                        guest.citizen_id = db.citizen_id(guest.phone_e164)
                        account = guest
                        mixed(proxy, rng)
                    elif i == shared.stop:
                        # The relative hands the phone back once their own reports are sent.
                        all_good(proxy)
                        phone.wait_sent([f.key for f in filed if f.account is guest], 60)
                        phone.sign_out()
                        phone.sign_in(owner, server)
                        account = owner
                        mixed(proxy, rng)
                    active = []
                    if i not in shared and i in schedule.offline:
                        phone.set_offline(True)
                        ends.setdefault(i + schedule.offline[i], []).append(
                            lambda: phone.set_offline(False)
                        )
                    if i not in shared and i in schedule.kills:
                        server.kill_for(schedule.kills[i])
                    if i not in shared and i in schedule.lie_fi:
                        lie_fi(proxy)
                        in_lie_fi = True
                        ends.setdefault(i + schedule.lie_fi[i], []).append(end_lie_fi)
                    active += ["lie-fi"] * in_lie_fi
                    active += ["offline"] * phone.offline
                    active += ["server down"] * server.down
                    active += ["held by 503, owner"] * (shared.start <= i < shared.start + HELD)
                    active += ["guest account"] * (account is guest)
                    t_start = time.monotonic()
                    title = f"{title_prefix}#{i:03d} jalan berlubang dekat pasar"
                    key = phone.file(
                        title,
                        f"Laporan uji ketahanan nomor {i}: lubang di jalan, air menggenang saat hujan.",
                        rng.choice(CATEGORIES),
                        photo if i in schedule.photos else None,
                    )
                    filed.append(Filed(key, title, account, time.monotonic(), active))
                    t_filed = time.monotonic()
                    if i in schedule.closes:
                        time.sleep(rng.uniform(0.2, 1.5))
                        phone.close_and_reopen()
                    elif i in schedule.reloads:
                        time.sleep(rng.uniform(0.2, 1.5))
                        phone.reload()
                    else:
                        phone.wait_until_answered(key, limit=12)
                    if args.verbose:
                        print(
                            f"  #{i:03d} {key} {','.join(active) or '-'} "
                            f"filed {t_filed - t_start:.1f} s, then {time.monotonic() - t_filed:.1f} s"
                            f" -> {phone.page.url.removeprefix(proxy.url)}",
                            file=sys.stderr,
                        )
                    if (i + 1) % 25 == 0:
                        print(
                            f"  {i + 1} filed ({time.monotonic() - started:.0f} s)", file=sys.stderr
                        )

                # The network becomes good: faults lifted, server up, the phone online. Nobody taps.
                keys = {item.key for item in filed}
                arrived_before = {row["key"] for row in db.complaints(title_prefix)}
                all_good(proxy)
                server.ensure_up()
                phone.set_offline(False)
                good_at = time.monotonic()
                arrived = dict.fromkeys(arrived_before, good_at)
                while time.monotonic() - good_at < args.drain_timeout:
                    now = time.monotonic()
                    for row in db.complaints(title_prefix):
                        arrived.setdefault(row["key"], now)
                    if keys <= arrived.keys():
                        shown = outbox(phone.page)
                        if all(item["state"] == "sent" for item in shown if item["key"] in keys):
                            break
                    time.sleep(0.25)
                rows = db.complaints(title_prefix)
                shown = {item["key"]: item for item in outbox(phone.page)}
                browser.close()
        finally:
            proxy.stop()
            server.stop()
        report = summarize(filed, rows, shown, arrived, good_at, phone, server, proxy)
        report["arrived_before_good"] = len(arrived_before & keys)
        report["elapsed"] = time.monotonic() - started
        print_report(args, report)
        if report["lost_keys"] or report["duplicated_titles"] or report["wrong_number"]:
            print_details(report, filed, shown, server)
        failed = (
            report["lost"]
            or report["duplicated"]
            or report["wrong account"]
            or report["wrong_number"]
            or report["drain"] is None
            or report["drain"] > DRAIN_TARGET_S
        )
        return 1 if failed else 0


def summarize(filed, rows, shown, arrived, good_at, phone, server, proxy) -> dict:
    by_title = Counter(row["title"] for row in rows)
    row_by_key = {row["key"]: row for row in rows}
    exactly_once = lost = 0
    lost_keys = []
    for item in filed:
        row = row_by_key.get(item.key)
        if row is None:
            lost += 1
            lost_keys.append(item.key)
        elif by_title[item.title] == 1:
            exactly_once += 1
    duplicated_titles = [title for title, count in by_title.items() if count > 1]
    wrong_account = sum(
        1
        for item in filed
        if item.key in row_by_key and row_by_key[item.key]["citizen"] != item.account.citizen_id
    )
    waiting = [item.key for item in filed if shown.get(item.key, {}).get("state") != "sent"]
    wrong_number = [
        item.key
        for item in filed
        if shown.get(item.key, {}).get("state") == "sent"
        and (
            item.key not in row_by_key
            or shown[item.key]["number"] != row_by_key[item.key]["number"]
        )
    ]
    last = max((arrived.get(item.key, good_at) for item in filed), default=good_at)
    drain = None if lost else max(0.0, last - good_at)
    return {
        "filed": len(filed),
        "exactly once": exactly_once,
        "lost": lost,
        "lost_keys": lost_keys,
        "duplicated": sum(by_title[t] - 1 for t in duplicated_titles),
        "duplicated_titles": duplicated_titles,
        "waiting": len(waiting),
        "waiting_states": Counter(shown.get(k, {}).get("state", "gone") for k in waiting),
        "wrong account": wrong_account,
        "wrong_number": wrong_number,
        "drain": drain,
        "faults": {
            "offline windows": phone.offline_windows,
            "pages reloaded mid-send": phone.reloads,
            "pages closed mid-send": phone.closes,
            "server SIGKILLs": server.kills,
            "navigations to /undefined": len(phone.bad_urls),
            "form page did not open (tries)": phone.form_failures,
            **{f"POST /lapor {name}": n for name, n in proxy_counts(proxy).items()},
        },
    }


def proxy_counts(proxy: FaultProxy) -> dict[str, int]:
    """What the proxy did to the filings (lie-fi's drops of other requests not counted)."""
    return {
        outcome: n for (path, outcome), n in sorted(proxy.counts.items()) if path == "POST /lapor"
    }


def print_report(args, r: dict) -> None:
    drain = "not drained" if r["drain"] is None else f"{r['drain']:.1f} s"
    waiting = ", ".join(f"{state} {n}" for state, n in sorted(r["waiting_states"].items()))
    print(
        f"| outbox soak, {r['filed']} complaints, seed {args.seed}, "
        f"{'PostgreSQL' if args.postgres else 'SQLite'} | result | target |"
    )
    print("|---|---:|---|")
    rows = [
        ("filed", r["filed"], "≥ 200"),
        ("exactly once", r["exactly once"], f"{r['filed']}"),
        ("lost", r["lost"], "0"),
        ("duplicated", r["duplicated"], "0"),
        (
            "waiting (still in the phone's outbox)",
            f"{r['waiting']}" + (f" ({waiting})" if waiting else ""),
            "0",
        ),
        ("wrong account", r["wrong account"], "0"),
        ("shown sent with a wrong number", len(r["wrong_number"]), "0"),
        ("arrived before the network was good", r["arrived_before_good"], ""),
        ("drain time", drain, f"≤ {DRAIN_TARGET_S} s"),
    ]
    for name, value, target in rows:
        print(f"| {name} | {value} | {target} |")
    print()
    print("| faults injected | count |")
    print("|---|---:|")
    for name, n in r["faults"].items():
        print(f"| {name} | {n} |")
    print(f"\nwhole run: {r['elapsed']:.0f} s")


def print_details(r: dict, filed: list[Filed], shown: dict, server: AppServer) -> None:
    by_key = {item.key: item for item in filed}
    for key in dict.fromkeys(r["lost_keys"] + r["wrong_number"]):
        item = by_key[key]
        print(
            f"  {key} {item.title!r} filed during {item.faults or 'mixed faults'}: "
            f"outbox {shown.get(key)}",
            file=sys.stderr,
        )
    for title in r["duplicated_titles"]:
        print(f"  duplicated: {title!r}", file=sys.stderr)
    for line in server.log_lines(r"Traceback|ERROR|filing failed")[-20:]:
        print(f"  server: {line}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--complaints", type=int, default=200)
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL database (default: SQLite)")
    parser.add_argument("--quick", action="store_true", help="30 complaints: a smoke run")
    parser.add_argument("--verbose", action="store_true", help="one line per complaint filed")
    parser.add_argument(
        "--drain-timeout", type=float, default=120, help="seconds to wait for the outbox to drain"
    )
    args = parser.parse_args()
    if args.quick:
        args.complaints = 30
    if args.complaints < 20:
        parser.error("--complaints: at least 20 (the faults need room)")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
