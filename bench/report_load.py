"""Reports at national scale, on the 1,000,000-ticket database that bench/inbox_load.py loads.

    .venv/bin/python bench/report_load.py --clients 20 --requests 400

Measures (a) the 30-day leaders' report: its figures computed in-process (generate_daily_report,
inside a transaction that is rolled back, so nothing is stored) and the report page over HTTP
for one supervisor; (b) the public transparency page with concurrent clients (uvicorn, 2
workers). Prints a Markdown table. Targets (issue 5): <= 2 s for a 30-day report, p95 <= 300 ms
for the public page. It only reads the bench database, except one supervisor account to sign in.
Run bench/inbox_load.py first if the database is empty.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import serve  # noqa: E402
from bench.inbox_load import env_for, measure_kind, percentile, sign_in  # noqa: E402

REPORT_TARGET_MS = 2000
PUBLIC_TARGET_MS = 300


class Rollback(Exception):
    """Raised to leave the transaction without storing the generated report."""


async def loaded_tickets(url: str) -> int:
    try:
        conn = await asyncpg.connect(url)
    except (OSError, asyncpg.InvalidCatalogNameError):
        return 0
    try:
        return await conn.fetchval("SELECT count(*) FROM complaint")
    except asyncpg.UndefinedTableError:
        return 0
    finally:
        await conn.close()


async def time_generation(days: int, runs: int) -> list[float]:
    """Milliseconds per generate_daily_report-equivalent run over ``days`` days, nothing stored."""
    from zoneinfo import ZoneInfo

    from db.engine import current_engine
    from db.tables import DailyReport
    from web.city import get_city
    from web.reports.figures import leaders_report
    from web.reports.periods import make_period

    tz = ZoneInfo(get_city().timezone)
    engine = current_engine()
    timings = []
    for _ in range(runs):
        now = datetime.now(UTC)
        last = now.astimezone(tz).date() - timedelta(days=1)
        period = make_period(last - timedelta(days=days - 1), last, now=now, tz=tz)
        start = time.perf_counter()
        try:
            async with engine.transaction():
                report = await leaders_report(period, tz=tz, now=now)
                # The same upsert generate_daily_report does, then thrown away.
                await DailyReport.insert(
                    DailyReport(day=last, figures=report.to_json(), generated_at=now)
                ).on_conflict(
                    target=DailyReport.day,
                    action="DO UPDATE",
                    values=[DailyReport.figures, DailyReport.generated_at],
                )
                timings.append((time.perf_counter() - start) * 1000)
                raise Rollback
        except Rollback:
            pass
    return timings


def time_sequential(base: str, cookies: dict, url: str, runs: int) -> dict:
    timings, errors = [], 0
    with httpx.Client(base_url=base, cookies=cookies, timeout=120) as client:
        for _ in range(runs):
            start = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - start) * 1000)
            errors += response.status_code != 200 or "/staf/masuk" in str(response.url)
    return summary(timings, errors)


def summary(timings: list[float], errors: int = 0, rps: float | None = None) -> dict:
    return {
        "p50": statistics.median(timings),
        "p95": percentile(timings, 95),
        "max": max(timings),
        "rps": rps,
        "errors": errors,
        "n": len(timings),
    }


async def sample_ids(url: str) -> list[int]:
    conn = await asyncpg.connect(url)
    try:
        return [
            r["id"]
            for r in await conn.fetch("SELECT id FROM complaint TABLESAMPLE SYSTEM (0.1) LIMIT 500")
        ]
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/aduan_bench")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5, help="30-day reports computed in-process")
    args = parser.parse_args()

    tickets = asyncio.run(loaded_tickets(args.database))
    if not tickets:
        print(
            f"No tickets in {args.database}. Load them first:\n"
            "  .venv/bin/python bench/inbox_load.py --tickets 1000000",
            file=sys.stderr,
        )
        return 2
    env = env_for(args.database, Path("/tmp/aduan-bench-var"))
    os.environ.update(env)  # this process computes reports too, on the same database

    print(f"30-day report, in-process, {args.runs} runs ...", file=sys.stderr)
    generation = summary(asyncio.run(time_generation(30, args.runs)))

    results: dict[str, dict] = {}
    with serve(env, args.workers) as base:
        # The first request each worker serves after start rebuilds the public cache.
        start = time.perf_counter()
        cold = httpx.get(base + "/transparansi", timeout=120)
        cold_ms = (time.perf_counter() - start) * 1000
        assert cold.status_code == 200, cold.status_code

        supervisor = sign_in(base, args.database, "bench-supervisor", role="supervisor")
        today = datetime.now(UTC).date()
        last = today - timedelta(days=1)
        month = f"dari={last - timedelta(days=29)}&sampai={last}"
        print("report pages ...", file=sys.stderr)
        results["30-day report page, 1 supervisor"] = time_sequential(
            base, supervisor, f"/pimpinan/laporan?{month}&langsung=1", 10
        )
        results["30-day report as XLSX, 1 supervisor"] = time_sequential(
            base, supervisor, f"/pimpinan/laporan.xlsx?{month}", 5
        )
        results["yesterday's report page (default), 1 supervisor"] = time_sequential(
            base, supervisor, "/pimpinan/laporan", 10
        )

        rng = random.Random(5)
        ids = asyncio.run(sample_ids(args.database))
        public = {
            "public page": lambda: "/transparansi",
            "public list, a later page": lambda: f"/transparansi?setelah={rng.choice(ids)}",
            "public map (GeoJSON)": lambda: "/transparansi/peta.json",
        }
        for name, make_url in public.items():
            print(f"{name} ...", file=sys.stderr)
            results[f"{name}, {args.clients} concurrent clients"] = asyncio.run(
                measure_kind(base, [{}], "", make_url, args.clients, args.requests)
            )

    print(f"| reports, {tickets:,} tickets | p50 | p95 | max | req/s | errors | target |")
    print("|---|---:|---:|---:|---:|---:|---|")
    failed = generation["p95"] > REPORT_TARGET_MS

    def row(name: str, r: dict, target: str) -> None:
        rps = f"{r['rps']:.0f}" if r.get("rps") else ""
        print(
            f"| {name} | {r['p50']:,.0f} ms | {r['p95']:,.0f} ms | {r['max']:,.0f} ms | {rps} "
            f"| {r['errors']} | {target} |"
        )

    row(f"30-day report computed and stored (rolled back), {args.runs} runs", generation, "≤ 2 s")
    for name, r in results.items():
        target = f"p95 ≤ {PUBLIC_TARGET_MS} ms" if name.startswith("public page") else ""
        if name.startswith("30-day report page"):
            target = "≤ 2 s"
            failed |= r["p95"] > REPORT_TARGET_MS
        if name.startswith("public page"):
            failed |= r["p95"] > PUBLIC_TARGET_MS
        failed |= r["errors"] > 0
        row(name, r, target)
    print(
        f"| public page, first request after start (cache rebuild) | {cold_ms:,.0f} ms | | | | 0 | |"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
