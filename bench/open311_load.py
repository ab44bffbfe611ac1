"""Open311 API at national scale: ``GET requests.json`` pages over the 1 M tickets that
bench/inbox_load.py loads, and ``POST requests.json`` with a phone photo, over real HTTP (uvicorn,
2 workers on this 2-core machine).

    .venv/bin/python bench/open311_load.py --clients 20 --requests 400 --filings 200

Uses the same database as the inbox bench (default postgresql://postgres@127.0.0.1:5432/aduan_bench),
loading it first when it is empty (about 5 minutes for a million tickets; --reload rebuilds it).
Photos go to the default storage, a local folder (/tmp/aduan-bench-var/media).

The API keys are made through our own code (``web.open311.keys.create_key``, audited under a bench
admin, as the admin page does): a read key and a file key at the highest rate an admin may set
(10,000 a minute). They are revoked when the run ends. Reading needs no key today; the GETs send
the read key as ``api_key`` all the same, as FixMyStreet does. Every filing stays in the database
(status received: never listed by the API, so later GET runs read the same public tickets).

Besides latency, the CPU time the server processes and their PostgreSQL backends spend is read
from /proc and printed per request: on a shared machine latency moves with the other jobs, the CPU
a request costs does not.

Targets: GET p95 <= 150 ms for each kind with 20 concurrent clients at 1 M tickets; POST >= 10
filings a second, each with one photo. Prints Markdown tables; exits 1 on a miss.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from PIL import ExifTags, Image, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import serve  # noqa: E402
from bench.inbox_load import (  # noqa: E402
    BENCH_VAR,
    Operator,
    percentile,
    prepare,
)

API = "/open311/v2"
GET_TARGET_MS = 150
POST_TARGET_PER_SECOND = 10
BENCH_ADMIN = "bench-open311-admin"


# --- A phone photo ------------------------------------------------------------------------------


def phone_photo(seed: int = 5) -> bytes:
    """A 12 MP camera JPEG of about 1.5 MB, shot in portrait (EXIF orientation 6), with the EXIF a
    phone writes (make, model, time, GPS) and an ICC profile, as iPhones and many Androids embed.

    Large soft shapes plus fine grain, so the JPEG is as heavy as a real street photo (a flat test
    picture compresses to a few KB and would flatter the pipeline)."""
    from tests.images import GPS_LATITUDE, GPS_LONGITUDE, _srgb_icc

    rng = random.Random(seed)
    width, height = 4000, 3000
    shapes = Image.new("RGB", (40, 30))
    shapes.putdata(
        [(rng.randint(30, 220), rng.randint(30, 220), rng.randint(30, 200)) for _ in range(1200)]
    )
    grain = Image.effect_noise((width, height), 30).filter(ImageFilter.GaussianBlur(1))
    scene = Image.blend(
        shapes.resize((width, height), Image.Resampling.BICUBIC),
        Image.merge("RGB", (grain, grain, grain)),
        0.35,
    )
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "samsung"
    exif[ExifTags.Base.Model] = "Galaxy A15"
    exif[ExifTags.Base.DateTime] = "2026:11:30 08:12:40"
    exif[ExifTags.Base.Orientation] = 6
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "S"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = GPS_LONGITUDE
    buffer = io.BytesIO()
    scene.save(buffer, "JPEG", quality=85, exif=exif, icc_profile=_srgb_icc())
    return buffer.getvalue()


# --- API keys, made as an admin makes them ------------------------------------------------------


def make_keys(env: dict) -> tuple[str, str, list[int]]:
    """(read key, file key, their ids), created by ``create_key`` under a bench admin."""
    os.environ.update(env)  # before the engine is chosen (piccolo_conf reads the settings)
    from web.open311.keys import MAX_RATE_PER_MINUTE, create_key
    from web.staff.auth import hash_password

    async def create() -> tuple[str, str, list[int]]:
        conn = await asyncpg.connect(env["ADUAN_DATABASE_URL"])
        try:
            admin_id = await conn.fetchval(
                "INSERT INTO staff_user (username, name, role, password_hash, active, created_at) "
                "VALUES ($1, 'Admin Bench', 'admin', $2, true, now()) "
                "ON CONFLICT (username) DO UPDATE SET role = 'admin' RETURNING id",
                BENCH_ADMIN,
                hash_password(uuid.uuid4().hex),
            )
        finally:
            await conn.close()
        common = {"rate_per_minute": str(MAX_RATE_PER_MINUTE), "default_privacy": "public"}
        read_id, read = await create_key(
            {"name": "Bench dasbor", "scope": "read", **common}, admin_id=admin_id
        )
        file_id, file = await create_key(
            {"name": "Bench aplikasi", "client_name": "Bench", "scope": "file", **common},
            admin_id=admin_id,
        )
        return read, file, [read_id, file_id]

    return asyncio.run(create())


def revoke_keys(key_ids: list[int]) -> None:
    from web.open311.keys import revoke_key

    async def revoke() -> None:
        admin_id = await _admin_id()
        for key_id in key_ids:
            await revoke_key(key_id, admin_id=admin_id)

    asyncio.run(revoke())


async def _admin_id() -> int:
    from db.tables import StaffUser

    row = await StaffUser.select(StaffUser.id).where(StaffUser.username == BENCH_ADMIN).first()
    assert row is not None
    return row["id"]


# --- What the requests ask for ------------------------------------------------------------------


async def sample(url: str) -> dict:
    """Real values to ask for: public ticket numbers, category codes, kelurahan centres."""
    conn = await asyncpg.connect(url)
    try:
        numbers = [
            r["number"]
            for r in await conn.fetch(
                "SELECT number FROM complaint TABLESAMPLE SYSTEM (0.1) "
                "WHERE status IN ('verified', 'dispatched', 'in_progress', 'resolved', 'closed') "
                "AND privacy IN ('public', 'anonymous') LIMIT 500"
            )
        ]
        codes = [r["slug"] for r in await conn.fetch("SELECT slug FROM category WHERE active")]
        places = [
            (r["code"], r["latitude"], r["longitude"])
            for r in await conn.fetch("SELECT code, latitude, longitude FROM kelurahan")
        ]
        tickets = await conn.fetchval("SELECT count(*) FROM complaint")
    finally:
        await conn.close()
    return {"numbers": numbers, "codes": codes, "places": places, "tickets": tickets}


def get_kinds(values: dict, read_key: str, rng: random.Random) -> dict:
    """Each kind: (a URL maker, how many requests an answer must hold: exactly, or 1: some)."""
    base = f"{API}/requests.json?api_key={read_key}&page_size=50"

    def window() -> str:
        # A 30-day window anywhere in the two years loaded, as a client catching up would ask.
        start = datetime.now(UTC) - timedelta(days=rng.randint(31, 720))
        end = start + timedelta(days=30)
        return f"&start_date={start:%Y-%m-%dT%H:%M:%SZ}&end_date={end:%Y-%m-%dT%H:%M:%SZ}"

    def bbox() -> str:
        # About 2 km around a kelurahan centre: a map view zoomed into a neighbourhood.
        _, lat, lng = rng.choice(values["places"])
        return f"&bbox={lng - 0.01:.4f},{lat - 0.01:.4f},{lng + 0.01:.4f},{lat + 0.01:.4f}"

    return {
        "newest page (no filter)": (lambda: base, 50),
        "deep page (page=200, offset 9,950)": (lambda: base + "&page=200", 50),
        "status=open": (lambda: base + "&status=open", 50),
        "service_code (one category)": (
            lambda: base + f"&service_code={rng.choice(values['codes'])}",
            50,
        ),
        "30-day start_date/end_date window": (lambda: base + window(), 50),
        "bbox (2 km around a kelurahan)": (lambda: base + bbox(), 1),
        # Out at sea, west of the city: no ticket inside (newest first, all 90 days would be read).
        "bbox where no ticket lies": (
            lambda: base + f"&bbox={rng.uniform(105.85, 105.9):.4f},-6.02,105.95,-5.98",
            0,
        ),
        "service_request_id=a,b,c": (
            lambda: base + "&service_request_id=" + ",".join(rng.sample(values["numbers"], 3)),
            3,
        ),
    }


# --- CPU spent per request ---------------------------------------------------------------------
# The two cores are shared (with the load generator, and here with other jobs): latency under load
# moves with them, the CPU each request costs the server and PostgreSQL does not.

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def server_pids() -> list[int]:
    """uvicorn and its workers: every process descending from this one."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                children.setdefault(int(_stat(int(entry))[1]), []).append(int(entry))
            except OSError:
                continue
    found, todo = [], [os.getpid()]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


async def postgres_pids(url: str) -> list[int]:
    """The PostgreSQL backends serving the web processes (connections named aduan-web-<pid>)."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity "
            "WHERE application_name LIKE 'aduan-web-%' AND datname = current_database()"
        )
        return [r["pid"] for r in rows]
    finally:
        await conn.close()


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    spent = {}
    for pid in pids:
        try:
            fields = _stat(pid)
        except OSError:
            continue
        spent[pid] = (int(fields[11]) + int(fields[12])) / TICKS
    return spent


class CpuMeter:
    """CPU seconds the server processes and their PostgreSQL backends spend between start and stop
    (a backend opened meanwhile counts from its start)."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def start(self) -> None:
        self.server = cpu_seconds(server_pids())
        self.postgres = cpu_seconds(await postgres_pids(self.url))

    async def stop(self) -> tuple[float, float]:
        server = cpu_seconds(server_pids())
        postgres = cpu_seconds(await postgres_pids(self.url))
        return (
            sum(t - self.server.get(pid, 0.0) for pid, t in server.items()),
            sum(t - self.postgres.get(pid, 0.0) for pid, t in postgres.items()),
        )


# --- GET ----------------------------------------------------------------------------------------


async def check_answers(base_url: str, make_url, wanted: int) -> None:
    """Not timed: a few answers are read whole and must hold the page the kind asks for."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        for _ in range(5):
            response = await client.get(make_url())
            assert response.status_code == 200, (response.status_code, response.text[:300])
            rows = response.json()
            assert isinstance(rows, list), rows
            if wanted == 1:
                assert rows, f"empty answer for {response.url}"
            else:
                assert len(rows) == wanted, (len(rows), str(response.url))


async def measure_get(
    base_url: str, make_url, clients: int, requests: int, meter: CpuMeter | None = None
) -> dict:
    """``requests`` GETs from ``clients`` concurrent keep-alive clients; each one timed, in ms."""
    timings: list[float] = []
    errors = 0
    remaining = requests

    async def client_loop(client: Operator) -> None:
        nonlocal errors, remaining
        while remaining > 0:
            remaining -= 1
            url = make_url()
            start = time.perf_counter()
            status, _ = await client.get(url)
            timings.append((time.perf_counter() - start) * 1000)
            errors += status != 200

    host, port = base_url.removeprefix("http://").split(":")
    # The inbox bench's hand-written client: httpx's own CPU would count as server latency here.
    api_clients = [Operator(host, int(port), {}, {}) for _ in range(clients)]
    if meter:
        await meter.start()
    started = time.perf_counter()
    try:
        await asyncio.gather(*(client_loop(c) for c in api_clients))
    finally:
        for c in api_clients:
            await c.close()
    elapsed = time.perf_counter() - started
    return summary(timings, elapsed, errors, await meter.stop() if meter else None)


def summary(
    timings: list[float], elapsed: float, errors: int, cpu: tuple[float, float] | None
) -> dict:
    server, postgres = cpu or (0.0, 0.0)
    return {
        "server_cpu_ms": server * 1000 / len(timings),
        "postgres_cpu_ms": postgres * 1000 / len(timings),
        # Of the machine's cores, how many the server and PostgreSQL had (the rest: other jobs).
        "cores_used": (server + postgres) / elapsed,
        "n": len(timings),
        "p50": statistics.median(timings),
        "p95": percentile(timings, 95),
        "max": max(timings),
        "rps": len(timings) / elapsed,
        "errors": errors,
    }


async def measure_gets(
    base_url: str, kinds: dict, clients: int, requests: int, meter: CpuMeter
) -> dict:
    for make_url, wanted in kinds.values():
        await check_answers(base_url, make_url, wanted)
    # Warm-up, not recorded: both workers open their pools and the pages of the indexes come in.
    for make_url, _ in kinds.values():
        await measure_get(base_url, make_url, clients, clients * 3)
    results = {}
    for name, (make_url, _) in kinds.items():
        results[name] = await measure_get(base_url, make_url, clients, requests, meter)
        # One client alone: what a request costs without waiting for the others.
        results[name]["alone_p50"] = (await measure_get(base_url, make_url, 1, 50))["p50"]
        print(f"  GET {name}: p95 {results[name]['p95']:.0f} ms", file=sys.stderr)
    return results


# --- POST ---------------------------------------------------------------------------------------


def multipart(fields: dict[str, str], photo: bytes, boundary: str) -> bytes:
    """A multipart/form-data body as a phone app sends it: the fields, then the photo."""
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="media"; '
        f'filename="IMG_20261130_081240.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
    )
    return b"".join([*parts, photo, f"\r\n--{boundary}--\r\n".encode()])


class Filer:
    """One API client's keep-alive connection, written by hand like ``Operator``: httpx spent
    about 100 ms of CPU per 1.5 MB multipart upload, on the server's own two cores."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{head}"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        self.writer.write(body)
        await self.writer.drain()
        lines = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        return int(lines[0].split()[1]), await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


FILED_CODES = ("jalan-rusak", "sampah", "lampu-jalan")


async def attribute_answers(base_url: str) -> dict[str, dict[str, str]]:
    """What a client answers to each service's questions, read from its service definition as a
    client would (not timed): every attribute, required or not."""
    answers: dict[str, dict[str, str]] = {}
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        for code in FILED_CODES:
            definition = (await client.get(f"{API}/services/{code}.json")).json()
            answers[code] = {}
            for attribute in definition["attributes"]:
                if attribute.get("values"):
                    value = attribute["values"][0]["key"]
                elif attribute["datatype"] == "number":
                    value = "30"
                elif attribute["datatype"] == "datetime":
                    value = datetime.now(UTC).isoformat(timespec="seconds")
                else:
                    value = "Dekat sekolah"
                answers[code][f"attribute[{attribute['code']}]"] = value
    return answers


async def measure_posts(
    base_url: str,
    file_key: str,
    places: list,
    photo: bytes,
    clients: int,
    filings: int,
    meter: CpuMeter,
    answers: dict[str, dict[str, str]],
) -> tuple[dict, list[dict]]:
    """``filings`` POSTs, one photo each, from ``clients`` concurrent clients; every answer must be
    201 with a ticket number and a token."""
    rng = random.Random(11)
    timings: list[float] = []
    filed: list[dict] = []
    refused: list[str] = []
    remaining = filings

    async def client_loop(client: Filer) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            code, lat, lng = rng.choice(places)
            service = rng.choice(FILED_CODES)
            fields = {
                "api_key": file_key,
                "service_code": service,
                "lat": f"{lat + rng.uniform(-0.002, 0.002):.6f}",
                "long": f"{lng + rng.uniform(-0.002, 0.002):.6f}",
                "address_id": code,
                "description": "Lubang besar di tengah jalan dekat sekolah, sudah dua minggu, "
                "berbahaya bagi pengendara motor pada malam hari.",
                "first_name": "Warga",
                "last_name": "Bench",
                "email": "warga@example.org",
                **answers[service],
            }
            boundary = uuid.uuid4().hex
            body = multipart(fields, photo, boundary)
            headers = {
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Idempotency-Key": str(uuid.uuid4()),
            }
            start = time.perf_counter()
            status, answer = await client.post(f"{API}/requests.json", body, headers)
            timings.append((time.perf_counter() - start) * 1000)
            try:
                rows = json.loads(answer)
            except ValueError:
                rows = None
            if status == 201 and rows and rows[0].get("service_request_id") and rows[0]["token"]:
                filed.append(rows[0])
            else:
                refused.append(f"{status} {answer[:200]!r}")

    host, port = base_url.removeprefix("http://").split(":")
    filers = [Filer(host, int(port)) for _ in range(clients)]
    await meter.start()
    started = time.perf_counter()
    try:
        await asyncio.gather(*(client_loop(c) for c in filers))
    finally:
        for c in filers:
            await c.close()
    elapsed = time.perf_counter() - started
    for line in refused[:5]:
        print(f"  refused: {line}", file=sys.stderr)
    result = summary(timings, elapsed, len(refused), await meter.stop())
    result["filed_per_second"] = len(filed) / elapsed
    result["seconds"] = elapsed
    return result, filed


async def check_filed(url: str, filed: list[dict], media: Path) -> tuple[int, int]:
    """(tickets found filed through the API with one report photo, photo files on disk)."""
    numbers = [row["service_request_id"] for row in filed]
    tokens = {row["token"] for row in filed}
    assert len(set(numbers)) == len(numbers) and len(tokens) == len(filed), "a number twice"
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT c.number, c.client_key::text AS token, p.storage_key, p.thumb_key "
            "FROM complaint c JOIN complaint_photo p ON p.complaint = c.id "
            "WHERE c.number = ANY($1::text[]) AND c.channel = 'api'",
            numbers,
        )
    finally:
        await conn.close()
    assert {r["token"] for r in rows} == tokens, "a token does not name its ticket"
    on_disk = sum((media / r["storage_key"]).is_file() for r in rows)
    on_disk += sum((media / r["thumb_key"]).is_file() for r in rows)
    return len(rows), on_disk // 2


# --- The run ------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/aduan_bench")
    parser.add_argument("--tickets", type=int, default=1_000_000, help="loaded if empty")
    parser.add_argument("--clients", type=int, default=20, help="concurrent GET clients")
    parser.add_argument("--requests", type=int, default=400, help="GETs per kind")
    parser.add_argument("--filings", type=int, default=200)
    parser.add_argument("--post-clients", type=int, default=10, help="concurrent POST clients")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reload", action="store_true")
    parser.add_argument("--skip-get", action="store_true")
    parser.add_argument("--skip-post", action="store_true")
    args = parser.parse_args()

    env = prepare(args.database, args.tickets, reload=args.reload)
    values = asyncio.run(sample(args.database))
    read_key, file_key, key_ids = make_keys(env)
    photo = phone_photo()
    meter = CpuMeter(args.database)
    get_results: dict = {}
    post_result: dict | None = None
    load_before = os.getloadavg()[0]
    try:
        with serve(env, args.workers) as base:
            if not args.skip_get:
                kinds = get_kinds(values, read_key, random.Random(7))
                get_results = asyncio.run(
                    measure_gets(base, kinds, args.clients, args.requests, meter)
                )
            if not args.skip_post:
                post = (base, file_key, values["places"], photo, args.post_clients)
                answers = asyncio.run(attribute_answers(base))
                # Warm-up, not recorded (these tickets are filed all the same).
                asyncio.run(measure_posts(*post, args.post_clients, meter, answers))
                post_result, filed = asyncio.run(measure_posts(*post, args.filings, meter, answers))
                found, on_disk = asyncio.run(check_filed(args.database, filed, BENCH_VAR / "media"))
    finally:
        revoke_keys(key_ids)

    failed = False
    if get_results:
        print(
            f"| GET requests.json, page_size=50, {values['tickets']:,} tickets, "
            f"{args.clients} concurrent clients | p50 | p95 | max | req/s | errors "
            "| CPU per request: server + PostgreSQL | cores used | one client alone, p50 |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for name, r in get_results.items():
            failed |= r["p95"] > GET_TARGET_MS or r["errors"] > 0
            print(
                f"| {name} | {r['p50']:.0f} ms | {r['p95']:.0f} ms | {r['max']:.0f} ms "
                f"| {r['rps']:.0f} | {r['errors']} "
                f"| {r['server_cpu_ms']:.1f} + {r['postgres_cpu_ms']:.1f} ms "
                f"| {r['cores_used']:.2f} | {r['alone_p50']:.1f} ms |"
            )
    if post_result is not None:
        r = post_result
        failed |= r["filed_per_second"] < POST_TARGET_PER_SECOND or r["errors"] > 0
        failed |= found != r["n"] - r["errors"] or on_disk != found
        print(
            f"\n| POST requests.json, one {len(photo) / 1e6:.1f} MB 12 MP photo, "
            f"{args.post_clients} concurrent clients | filed | filed/s | p50 | p95 | max | errors "
            "| CPU per filing: server + PostgreSQL | cores used |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        print(
            f"| {r['n']} filings in {r['seconds']:.1f} s | {r['n'] - r['errors']} "
            f"| {r['filed_per_second']:.1f} | {r['p50']:.0f} ms | {r['p95']:.0f} ms "
            f"| {r['max']:.0f} ms | {r['errors']} "
            f"| {r['server_cpu_ms']:.0f} + {r['postgres_cpu_ms']:.0f} ms | {r['cores_used']:.2f} |"
        )
        print(
            f"\nChecked afterwards: {found} tickets filed through the API with their photo row, "
            f"{on_disk} photos (and thumbnails) in {BENCH_VAR / 'media'}."
        )
    print(
        f"\nLoad average (1 min) on this machine: {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after ({os.cpu_count()} cores)."
    )
    print(json.dumps({"get": get_results, "post": post_result}, default=str), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
