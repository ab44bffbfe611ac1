"""Operator inbox at national scale: load N tickets into PostgreSQL, then time the inbox with
concurrent operators over real HTTP (uvicorn, 2 workers on this 2-core machine).

    .venv/bin/python bench/inbox_load.py --tickets 1000000 --clients 20 --requests 400

Uses its own database (default postgresql://postgres@127.0.0.1:5432/aduan_bench), created and
filled on first run and reused afterwards (--reload to rebuild). Prints a Markdown table.
Target (issue 4): p95 <= 150 ms for each request kind at 1 M tickets with 20 operators.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import serve  # noqa: E402

WORDS = (
    "jalan",
    "lampu",
    "sampah",
    "banjir",
    "got",
    "parkir",
    "air",
    "pipa",
    "pohon",
    "trotoar",
    "lubang",
    "mati",
    "bocor",
    "menumpuk",
    "tumbang",
    "rusak",
    "macet",
    "bau",
    "liar",
    "retak",
)
# Real text has a long tail: a Zipf-like vocabulary, so PostgreSQL's word statistics (and so its
# plans for rare and common words) look like a real city's, not like 20 words repeated.
_rng = random.Random(1)
VOCABULARY = list(WORDS) + [
    "".join(_rng.choice("abdegijklmnoprstu") for _ in range(_rng.randint(4, 9)))
    for _ in range(3000)
]
WEIGHTS = [1 / (rank + 1) for rank in range(len(VOCABULARY))]


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(VOCABULARY, weights=WEIGHTS, k=n))


STATUSES = (
    ("closed", 55),
    ("in_progress", 12),
    ("dispatched", 10),
    ("resolved", 8),
    ("received", 5),
    ("verified", 3),
    ("rejected", 4),
    ("duplicate", 2),
    ("returned", 1),
)


IDLE_SECONDS = 10


def env_for(url: str, var_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADUAN_")}
    # Jobs off: in production they run in their own worker process (python -m web.worker).
    env.update(
        ADUAN_DATABASE_URL=url,
        ADUAN_VAR_DIR=str(var_dir),
        ADUAN_DB_POOL_MAX="10",
        ADUAN_DB_POOL_IDLE_SECONDS=str(IDLE_SECONDS),
        ADUAN_JOBS_IN_PROCESS="false",
    )
    return env


async def ensure_database(url: str, reload: bool) -> bool:
    """Create the bench database if needed; True when it must be (re)filled."""
    base, _, name = url.rpartition("/")
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and reload:
            await admin.execute(f'DROP DATABASE "{name}"')
            exists = False
        if not exists:
            await admin.execute(f'CREATE DATABASE "{name}"')
            return True
    finally:
        await admin.close()
    conn = await asyncpg.connect(url)
    try:
        count = await conn.fetchval("SELECT count(*) FROM complaint")
    except asyncpg.UndefinedTableError:
        count = 0
    finally:
        await conn.close()
    return count == 0


async def fill(url: str, tickets: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        categories = await conn.fetch("SELECT id, default_opd, sla_hours FROM category")
        kelurahan = await conn.fetch("SELECT id, latitude, longitude FROM kelurahan")
        citizen_id = await conn.fetchval(
            "INSERT INTO citizen (nik_hash, nik_masked, phone, name, created_at) "
            "VALUES ('bench', '0000••••••••0000', '+6281299999999', 'Warga Bench', now()) RETURNING id"
        )
        rng = random.Random(42)
        now = datetime.now(UTC)
        status_pool = [s for s, w in STATUSES for _ in range(w)]
        year = now.year
        batch, t0 = [], time.monotonic()
        columns = (
            "number",
            "client_key",
            "citizen",
            "reporter_name",
            "reporter_contact",
            "classification",
            "category",
            "title",
            "description",
            "latitude",
            "longitude",
            "location_accuracy_m",
            "address",
            "kelurahan",
            "privacy",
            "status",
            "channel",
            "opd",
            "sla_started_at",
            "sla_warn_at",
            "sla_due_at",
            "first_response_at",
            "resolved_at",
            "closed_at",
            "rating_comment",
            "created_at",
            "updated_at",
            "version",
        )
        for i in range(1, tickets + 1):
            cat = rng.choice(categories)
            kel = rng.choice(kelurahan)
            status = rng.choice(status_pool)
            created = now - timedelta(seconds=int((tickets - i) * (730 * 86400 / tickets)))
            dispatched = status in ("dispatched", "in_progress", "resolved", "closed", "returned")
            started = created + timedelta(hours=rng.randint(1, 30)) if dispatched else None
            due = started + timedelta(hours=cat["sla_hours"]) if started else None
            warn = due - timedelta(hours=cat["sla_hours"] * 0.2) if due else None
            # Response and resolution times spread around the SLA, so reports have real medians
            # and some late tickets.
            responded = (
                started + timedelta(hours=rng.uniform(0.5, 60))
                if status in ("in_progress", "resolved", "closed")
                else None
            )
            resolved = (
                responded + timedelta(hours=rng.uniform(1, 80))
                if status in ("resolved", "closed")
                else None
            )
            closed = resolved + timedelta(hours=rng.uniform(1, 48)) if status == "closed" else None
            title = words(rng, 4).capitalize()
            batch.append(
                (
                    f"BNC-{year}-{i:07d}",
                    uuid.UUID(int=rng.getrandbits(128)),
                    citizen_id,
                    "",
                    "",
                    "complaint",
                    cat["id"],
                    title,
                    title + " " + words(rng, 14),
                    kel["latitude"] + rng.uniform(-0.004, 0.004),
                    kel["longitude"] + rng.uniform(-0.004, 0.004),
                    10.0,
                    "",
                    kel["id"],
                    rng.choice(("public", "public", "anonymous", "confidential")),
                    status,
                    rng.choice(("pwa", "pwa", "pwa", "phone", "walk_in", "lapor")),
                    cat["default_opd"] if dispatched else None,
                    started,
                    warn,
                    due,
                    responded,
                    resolved,
                    closed,
                    "",
                    created,
                    created,
                    1,
                )
            )
            if len(batch) == 50_000:
                await conn.copy_records_to_table("complaint", records=batch, columns=columns)
                batch.clear()
                print(f"  {i:,} tickets ({time.monotonic() - t0:.0f} s)", file=sys.stderr)
        if batch:
            await conn.copy_records_to_table("complaint", records=batch, columns=columns)
        print("  timeline events ...", file=sys.stderr)
        await conn.execute(
            "INSERT INTO timeline_event (complaint, kind, to_status, actor_kind, actor_citizen, note, is_public, created_at) "
            "SELECT id, 'created', 'received', 'citizen', citizen, '', true, created_at FROM complaint"
        )
        await conn.execute(
            "INSERT INTO timeline_event (complaint, kind, from_status, to_status, actor_kind, note, is_public, opd, created_at) "
            "SELECT id, 'dispatch', 'verified', 'dispatched', 'system', '', true, opd, sla_started_at "
            "FROM complaint WHERE sla_started_at IS NOT NULL"
        )
        await conn.execute(
            f"INSERT INTO ticket_sequence (scope, last_value) VALUES ('BNC-{year}', {tickets}) ON CONFLICT DO NOTHING"
        )
        # As a table that has lived: hint bits set, visibility map and BRIN ranges up to date.
        # (Benchmarking right after COPY measures autovacuum catching up instead.)
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


class Operator:
    """One operator's keep-alive HTTP/1.1 connection, written by hand.

    httpx costs a few milliseconds of CPU per request; with 20 clients in one Python process on the
    server's own two cores, that CPU and the client's event-loop queueing showed up as server
    latency. This client only writes the request and reads the (gzip, not decoded) body.
    """

    def __init__(self, host: str, port: int, cookies: dict, headers: dict) -> None:
        self.host, self.port = host, port
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.extra += (f"Cookie: {cookie}\r\n" if cookie else "") + "Accept-Encoding: gzip\r\n"
        self.reader = self.writer = None

    async def get(self, path: str) -> tuple[int, dict]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        request = f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self.extra}\r\n"
        self.writer.write(request.encode())
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        headers = {}
        for line in head[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        await self.reader.readexactly(int(headers.get("content-length", "0")))
        return status, headers

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def measure_kind(
    base_url: str, sessions: list[dict], target: str, make_url, clients: int, requests: int
) -> dict:
    """``requests`` requests from ``clients`` concurrent operators; latency of each, in ms."""
    timings: list[float] = []
    errors = 0
    remaining = requests
    headers = {"HX-Request": "true", "HX-Target": target}

    async def operator(client: Operator) -> None:
        nonlocal errors, remaining
        while remaining > 0:
            remaining -= 1
            url = make_url()
            start = time.perf_counter()
            status, response_headers = await client.get(url)
            timings.append((time.perf_counter() - start) * 1000)
            # A signed-out htmx request answers 200 with HX-Redirect: that is a failure here.
            errors += status != 200 or "hx-redirect" in response_headers

    async with httpx.AsyncClient(base_url=base_url, cookies=sessions[0], timeout=60) as warm:
        for _ in range(10):
            response = await warm.get(make_url(), headers=headers)
            assert "hx-redirect" not in response.headers, "bench session is not signed in"
    host, port = base_url.removeprefix("http://").split(":")
    # Each simulated operator has their own signed-in session, as real operators do.
    operators = [
        Operator(host, int(port), sessions[i % len(sessions)], headers) for i in range(clients)
    ]
    started = time.perf_counter()
    try:
        await asyncio.gather(*(operator(client) for client in operators))
    finally:
        for client in operators:
            await client.close()
    elapsed = time.perf_counter() - started
    return {
        "p50": statistics.median(timings),
        "p95": percentile(timings, 95),
        "max": max(timings),
        "rps": len(timings) / elapsed,
        "errors": errors,
    }


async def measure(
    base_url: str, sessions: list[dict], kinds: dict, clients: int, requests: int
) -> dict:
    # Warm-up, not recorded: both workers open their connection pools and fill their caches, so
    # the first kind measured is not charged for the server's start.
    for name, make_url in kinds.items():
        target = "detail" if name == "detail panel" else "inbox-rows"
        await measure_kind(base_url, sessions, target, make_url, clients, clients * 3)
    results = {}
    for name, make_url in kinds.items():
        target = "detail" if name == "detail panel" else "inbox-rows"
        results[name] = await measure_kind(base_url, sessions, target, make_url, clients, requests)
        print(f"  {name}: p95 {results[name]['p95']:.0f} ms", file=sys.stderr)
    return results


async def connections_per_process(url: str) -> dict[str, int]:
    """PostgreSQL connections each web process holds now (they are named aduan-web-<pid>)."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT application_name AS name, count(*) AS n FROM pg_stat_activity "
            "WHERE application_name LIKE 'aduan-web-%' AND datname = current_database() "
            "GROUP BY 1"
        )
        return {r["name"]: r["n"] for r in rows}
    finally:
        await conn.close()


async def measure_with_connections(url: str, *args) -> tuple[dict, dict[str, int]]:
    """``measure`` while sampling the connections each process holds; the peak per process."""
    peak: dict[str, int] = {}
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            for name, n in (await connections_per_process(url)).items():
                peak[name] = max(peak.get(name, 0), n)
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    try:
        return await measure(*args), peak
    finally:
        done.set()
        await sampler


# Where the benches' app keeps its media and logs.
BENCH_VAR = Path("/tmp/aduan-bench-var")


def prepare(url: str, tickets: int, *, reload: bool) -> dict:
    """The bench database, migrated on every run (an index added since the load is created
    here) and loaded with ``tickets`` when empty; returns the app's environment for it."""
    env = env_for(url, BENCH_VAR)
    must_fill = asyncio.run(ensure_database(url, reload))
    subprocess.run(
        [sys.executable, "-m", "web.manage", "setup", "--no-demo"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    if must_fill:
        print(f"loading {tickets:,} tickets into {url} ...", file=sys.stderr)
        t0 = time.monotonic()
        asyncio.run(fill(url, tickets))
        print(f"loaded in {time.monotonic() - t0:.0f} s", file=sys.stderr)
    return env


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/aduan_bench")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reload", action="store_true")
    args = parser.parse_args()

    env = prepare(args.database, args.tickets, reload=args.reload)

    with serve(env, args.workers) as base:
        sessions = [
            sign_in(base, args.database, f"bench-operator-{i}") for i in range(args.clients)
        ]
        rng = random.Random(7)
        conn_numbers = asyncio.run(sample_numbers(args.database))
        kecamatan = asyncio.run(sample_kecamatan(args.database))
        kinds = {
            "inbox list": lambda: "/operator",
            "filtered list": lambda: (
                f"/operator?status={rng.choice(['dispatched', 'in_progress', 'received'])}"
                f"&category={rng.choice(['jalan-rusak', 'sampah', 'lampu-jalan'])}"
                f"&kecamatan={rng.choice(kecamatan)}"
            ),
            "overdue, by SLA": lambda: "/operator?sla=overdue&urut=sla",
            "search, common words": lambda: f"/operator?q={rng.choice(WORDS)}+{rng.choice(WORDS)}",
            "search, rare word": lambda: f"/operator?q={rng.choice(VOCABULARY[1500:])}",
            "search, word found nowhere": lambda: f"/operator?q=pemadam{rng.randint(1, 99)}",
            "search by number": lambda: f"/operator?q={rng.choice(conn_numbers)}",
            "detail panel": lambda: f"/operator/tiket/{rng.choice(conn_numbers)}",
        }
        at_rest = asyncio.run(connections_per_process(args.database))
        results, peak = asyncio.run(
            measure_with_connections(
                args.database, base, sessions, kinds, args.clients, args.requests
            )
        )
        time.sleep(IDLE_SECONDS + 5)  # idle connections above the minimum are closed by then
        after = asyncio.run(connections_per_process(args.database))

    print(
        f"| inbox, {args.tickets:,} tickets, {args.clients} concurrent operators | p50 | p95 | max | req/s | errors |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    failed = False
    for name, r in results.items():
        failed |= r["p95"] > 150 or r["errors"] > 0
        print(
            f"| {name} | {r['p50']:.0f} ms | {r['p95']:.0f} ms | {r['max']:.0f} ms | {r['rps']:.0f} | {r['errors']} |"
        )
    print(
        f"\nPostgreSQL connections per web process (ADUAN_DB_POOL_MIN/MAX defaults): after "
        f"start and sign-in {sorted(at_rest.values())}, peak under load "
        f"{sorted(peak.values())}, {IDLE_SECONDS + 5} s after the load {sorted(after.values())}"
    )
    return 1 if failed else 0


async def sample_numbers(url: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        return [
            r["number"]
            for r in await conn.fetch(
                "SELECT number FROM complaint TABLESAMPLE SYSTEM (0.1) LIMIT 500"
            )
        ]
    finally:
        await conn.close()


async def sample_kecamatan(url: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        return [r["code"] for r in await conn.fetch("SELECT code FROM kecamatan")]
    finally:
        await conn.close()


def sign_in(base: str, url: str, username: str, role: str = "operator") -> dict:
    sys.path.insert(0, str(ROOT))
    from web.staff.auth import hash_password

    async def create():
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(
                "INSERT INTO staff_user (username, name, role, password_hash, active, created_at) "
                "VALUES ($1, 'Operator Bench', $3, $2, true, now()) "
                "ON CONFLICT (username) DO UPDATE "
                "SET password_hash = EXCLUDED.password_hash, role = EXCLUDED.role",
                username,
                hash_password("bench-password"),
                role,
            )
            # Earlier runs' failed tries must not slow or refuse this sign-in.
            await conn.execute("DELETE FROM rate_limit WHERE key LIKE 'staff-%'")
        finally:
            await conn.close()

    asyncio.run(create())
    with httpx.Client(base_url=base) as client:
        client.get("/staf/masuk")
        token = client.cookies["csrftoken"]
        response = client.post(
            "/staf/masuk",
            data={"username": username, "password": "bench-password"},
            headers={"x-csrftoken": token},
        )
        assert response.status_code == 303, response.text[:200]
        return dict(client.cookies)


if __name__ == "__main__":
    sys.exit(main())
