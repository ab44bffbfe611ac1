"""Soak the citizen's outbox (issue 10): file many complaints through the page in real Chromium
while a fault proxy mixes dropped, delayed, lost and faked answers, the phone goes offline, pages
are reloaded and closed mid-send and the server is SIGKILLed and restarted. The last filings
happen in "lie-fi" (online, nothing gets through); then the network is good, and the drain time
is how long the outbox takes to empty from that moment.

    .venv/bin/python bench/outbox_soak.py                  # 200 complaints, seed 1
    .venv/bin/python bench/outbox_soak.py --complaints 50 --seed 7

Prints filed / exactly once / lost / duplicated / still waiting / drain time as a Markdown table.
Target: 0 lost, 0 duplicated, drained within 30 s of a good network. Not part of the test suite:
it takes minutes and its timings belong to this machine.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.page_weight import prepared_env  # noqa: E402
from tests.browser import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    GPS_FIX,
    free_port,
    start_server,
    stop_server,
)
from tests.fault_proxy import FaultProxy  # noqa: E402
from tests.outbox_helpers import controlled_by_worker, fill_complaint, sign_up  # noqa: E402

# What the bad network does to POST /lapor, by weight (as in the run).
MIX = {"pass": 4, "drop_before": 1, "drop_after": 1, "delay": 2, "status": 1, "captive": 1}


def file_one(page, site, title: str) -> str:
    """File one complaint from the form; returns its outbox key. Waits until the form is ready for
    the next one (or the page moved on to the ticket, when it went through at once)."""
    if "/lapor" not in page.url or "/laporan/" in page.url:
        page.goto(f"{site.url}/lapor")
    expect(page.locator("input[name=client_key]")).not_to_have_value("")
    key = page.input_value("input[name=client_key]")
    fill_complaint(page, title=title, description=f"{title}: uji ketahanan kotak keluar laporan.")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if "/laporan/" in page.url:
            break
        try:
            if page.evaluate(
                """() => document.querySelector('#title').value === ''
                    && !document.querySelector('button[type=submit]').disabled"""
            ):
                break
        except Exception:  # the page is navigating to the ticket
            pass
        page.wait_for_timeout(100)
    return key


def rows_by_key(database: Path) -> dict[str, str]:
    with sqlite3.connect(database) as conn:
        return {
            key.replace("-", ""): title
            for key, title in conn.execute("SELECT client_key, title FROM complaint")
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--complaints", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drain-timeout", type=float, default=120)
    parser.add_argument(
        "--lie-fi",
        type=int,
        default=20,
        help="the last N filings happen with nothing getting through",
    )
    args = parser.parse_args()
    rnd = random.Random(args.seed)

    folder = Path(tempfile.mkdtemp(prefix="aduan-soak-"))
    env = prepared_env(folder / "var")
    aduan_env = {k: v for k, v in env.items() if k.startswith("ADUAN_")}
    port = free_port()
    process, server = start_server(folder, port, **aduan_env)
    database = folder / "var" / "aduan.sqlite3"
    proxy = FaultProxy(server.url).start()
    site = type(server)(url=proxy.url, log_path=server.log_path, media_dir=server.media_dir)
    filed: dict[str, str] = {}  # key -> title
    events = Counter()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        phone = browser.new_context(
            viewport={"width": 360, "height": 780},
            permissions=["geolocation", "background-sync"],
            geolocation=GPS_FIX,
            locale="id-ID",
        )
        phone.set_default_timeout(60_000)
        page = phone.new_page()
        sign_up(page, site)
        controlled_by_worker(page, site)
        proxy.set_fault("mix", weights=MIX, seed=args.seed, seconds=(1, 10), status=(502, 503))
        killed = False
        for n in range(1, args.complaints + 1):
            if n == args.complaints - args.lie_fi + 1:  # the last ones queue up behind lie-fi
                proxy.set_fault("drop_before", every_request=True)
            title = f"Uji ketahanan nomor {n}"
            filed[file_one(page, site, title).replace("-", "")] = title
            roll = rnd.random()
            if roll < 0.04:  # the phone loses signal for a few filings
                events["offline"] += 1
                phone.set_offline(True)
                for m in range(rnd.randint(1, 3)):
                    title = f"Uji ketahanan nomor {n} luring {m + 1}"
                    filed[file_one(page, site, title).replace("-", "")] = title
                phone.set_offline(False)
            elif roll < 0.08:  # the citizen reloads while something may be sending
                events["reload"] += 1
                page.reload()
            elif roll < 0.11:  # or closes the app and opens it again
                events["closed"] += 1
                page.close()
                page = phone.new_page()
                page.goto(f"{site.url}/lapor")
            if not killed and n >= args.complaints // 2:  # the server dies once, mid-run
                killed = True
                events["server killed"] += 1
                process.kill()
                process.wait()
                time.sleep(rnd.uniform(1, 5))
                process, _ = start_server(folder, port, **aduan_env)

        page.wait_for_timeout(10_000)  # the bad stretch lasts a little after the last filing
        proxy.set_fault("pass")
        good_since = time.monotonic()
        drained = None
        while time.monotonic() - good_since < args.drain_timeout:
            if set(filed) <= set(rows_by_key(database)):
                drained = time.monotonic() - good_since
                break
            page.wait_for_timeout(250)
        waiting = page.evaluate(
            "AduanOutbox.all().then(items => items.filter(i => i.state !== 'sent').length)"
        )
        browser.close()

    rows = rows_by_key(database)
    titles = Counter(rows.values())
    once = sum(1 for title in filed.values() if titles[title] == 1)
    lost = sum(1 for key in filed if key not in rows)
    duplicated = sum(1 for title in filed.values() if titles[title] > 1)
    proxy.stop()
    stop_server(process)

    print(f"Outbox soak, seed {args.seed}: " + ", ".join(f"{k} {v}" for k, v in events.items()))
    print()
    print("| filed | exactly once | lost | duplicated | still waiting | drain time |")
    print("|---|---|---|---|---|---|")
    drain = f"{drained:.1f} s" if drained is not None else f"> {args.drain_timeout:.0f} s"
    print(f"| {len(filed)} | {once} | {lost} | {duplicated} | {waiting} | {drain} |")
    print()
    print("What the proxy did to the filings (POST /lapor) and to everything:")
    faults = [line for line in proxy.report().splitlines() if line.startswith("POST /lapor")]
    print("\n".join(faults))
    print("all requests  " + " ".join(f"{m}={proxy.total(m)}" for m in ("forwarded", *MIX)))


if __name__ == "__main__":
    main()
