"""Lighthouse over the citizen's pages: performance, accessibility and best practices, each ≥ 95.

Lighthouse is pinned in ``bench/lighthouse/package.json`` (its own lock file, kept out of the app's
package.json: it is large and nothing else needs it) and installed here on first use with
``npm ci``. The app runs on the embedded default (SQLite + local media in a temporary folder, demo
accounts), served by uvicorn as in production. The demo citizen signs in through the dev messenger
and files one ticket over HTTP; every page is then loaded by Lighthouse as that citizen (the
session cookie rides in ``--extra-headers``), with the mobile preset (Lighthouse's default:
simulated slow 4G and a 4× slower CPU), on the installed Chromium. Map tiles come from a tile
server on loopback (this machine has no internet; a failed tile is a console error that would cost
best practices points a real phone does not lose), serving one generated 256 px PNG of ≈ 8 KB
(real tiles weigh 10–30 KB; the map loads only when scrolled to, so they are outside the score).

    .venv/bin/python bench/lighthouse.py            # Markdown table, median of 3; exits 1 below 95
    .venv/bin/python bench/lighthouse.py --runs 1   # one run per page

Each run's full report is written to ``bench/results/lighthouse-<page>-<run>.report.{json,html}``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from threading import Thread

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import serve  # noqa: E402
from tests.browser import CHROMIUM  # noqa: E402

PACKAGE = ROOT / "bench" / "lighthouse"
LIGHTHOUSE = PACKAGE / "node_modules" / "lighthouse" / "cli" / "index.js"
RESULTS = ROOT / "bench" / "results"
CATEGORIES = ("performance", "accessibility", "best-practices")
TARGET = 95


def install() -> None:
    """``npm ci`` in bench/lighthouse when Lighthouse is missing (the lock file pins every package)."""
    if not LIGHTHOUSE.exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PACKAGE, check=True)


def tile_png() -> bytes:
    """A 256 px PNG that looks like a town's map tile: streets and buildings."""
    import random

    from PIL import Image, ImageDraw

    rng = random.Random(13)
    image = Image.new("RGB", (256, 256), (242, 239, 233))
    draw = ImageDraw.Draw(image)
    for _ in range(900):
        x, y = rng.randrange(256), rng.randrange(256)
        shade = rng.choice(((217, 208, 201), (205, 197, 190), (224, 223, 223), (173, 209, 158)))
        draw.rectangle((x, y, x + rng.randrange(3, 12), y + rng.randrange(3, 12)), shade)
    for _ in range(12):
        points = [(rng.randrange(-20, 276), rng.randrange(-20, 276)) for _ in range(3)]
        draw.line(points, fill=(255, 255, 255), width=rng.choice((3, 5, 8)), joint="curve")
    out = BytesIO()
    image.quantize(32).save(out, "PNG", optimize=True)
    return out.getvalue()


@contextmanager
def tile_server() -> Iterator[str]:
    """Answers any ``/{z}/{x}/{y}.png`` with the same tile, cacheable like OpenStreetMap's."""
    body = tile_png()

    class Tiles(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "max-age=604800")
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Tiles)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{{z}}/{{x}}/{{y}}.png"
    finally:
        server.shutdown()


def prepared_env(var_dir: Path) -> tuple[dict, str]:
    """A fresh embedded install with the demo accounts, set up like ``scripts/run``; returns the
    environment to serve it with and the demo citizen's WhatsApp number."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADUAN_")}
    env["ADUAN_VAR_DIR"] = str(var_dir)
    env["ADUAN_MESSENGER"] = "dev"
    setup = subprocess.run(
        [sys.executable, "-m", "web.manage", "setup"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    demo_phone = re.search(r"WhatsApp (\+\d+)", setup.stdout)
    if demo_phone is None:
        raise RuntimeError("setup printed no demo citizen:\n" + setup.stdout)
    return env, demo_phone.group(1)


def sign_in_code(log: Path, phone: str) -> str:
    pattern = re.compile(rf"DEV MESSENGER code for {re.escape(phone)}: (\d{{6}})")
    for _ in range(50):
        if codes := pattern.findall(log.read_text(errors="replace")):
            return codes[-1]
        time.sleep(0.1)
    raise RuntimeError(f"no sign-in code for {phone} in {log}")


def citizen_with_ticket(base: str, log: Path, phone: str) -> tuple[str, str]:
    """Sign the demo citizen in and file one complaint, as the forms do; returns (cookie, ticket URL)."""
    with httpx.Client(base_url=base) as http:
        http.get("/masuk")
        csrf = {"x-csrftoken": http.cookies["csrftoken"]}
        asked = http.post("/masuk", data={"phone": phone}, headers=csrf)
        code = {"code": sign_in_code(log, phone), "action": "verify"}
        signed_in = http.post("/masuk/kode", data=code, headers=csrf)
        if (asked.status_code, signed_in.status_code) != (303, 303):
            raise RuntimeError(f"sign-in failed: {signed_in.status_code} {signed_in.text[:300]}")
        complaint = {
            "client_key": str(uuid.uuid4()),
            "classification": "complaint",
            "category": "jalan-rusak",
            "title": "Jalan berlubang dekat sekolah",
            "description": "Lubang besar di tengah jalan, sudah dua minggu, berbahaya untuk motor.",
            "address": "Jl. Ahmad Yani depan SD",
            "latitude": "-6.0021",
            "longitude": "106.0443",
            "accuracy": "12",
            "kelurahan": "",
            "privacy": "public",
        }
        filed = http.post("/lapor", data=complaint, headers=csrf)
        if filed.status_code != 303:
            raise RuntimeError(f"filing failed: {filed.status_code} {filed.text[:300]}")
        ticket = filed.headers["location"].split("?")[0]
        cookie = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
        return cookie, ticket


def lighthouse(url: str, cookie: str, name: str, attempts: int = 3) -> dict[str, int]:
    """One Lighthouse run (mobile preset): each category's score out of 100, and the machine's
    benchmark index at the time (Lighthouse's CPU measure; a busy machine scores lower).

    A run that Lighthouse itself could not record (``NO_NAVSTART`` and the like on a busy machine,
    "run Lighthouse again") is run again, up to ``attempts`` times in all."""
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"lighthouse-{name}"
    for attempt in range(1, attempts + 1):
        done = subprocess.run(
            [
                "node",
                str(LIGHTHOUSE),
                url,
                "--quiet",
                "--output=json",
                "--output=html",
                f"--output-path={out}",
                f"--only-categories={','.join(CATEGORIES)}",
                "--chrome-flags=--headless=new --no-sandbox --disable-gpu --no-first-run",
                f"--extra-headers={json.dumps({'Cookie': cookie})}",
            ],
            env={**os.environ, "CHROME_PATH": CHROMIUM},
        )
        report_path = RESULTS / f"lighthouse-{name}.report.json"
        report = json.loads(report_path.read_text()) if done.returncode == 0 else {}
        if report and not report.get("runtimeError"):
            scores = {c: round(100 * (report["categories"][c]["score"] or 0)) for c in CATEGORIES}
            return {**scores, "benchmark": round(report["environment"]["benchmarkIndex"])}
        print(f"{url}: Lighthouse run failed (attempt {attempt} of {attempts})", file=sys.stderr)
    raise RuntimeError(f"{url}: Lighthouse failed {attempts} times")


def measure(runs: int) -> list[tuple[str, dict[str, int], list[int]]]:
    """Per page: the median of each score over ``runs`` runs, and every run's performance."""
    with tempfile.TemporaryDirectory() as tmp, tile_server() as tiles:
        env, phone = prepared_env(Path(tmp) / "var")
        env["ADUAN_MAP_TILE_URL"] = tiles
        log = Path(tmp) / "server.log"
        with serve(env, workers=1, log=log) as base:
            cookie, ticket = citizen_with_ticket(base, log, phone)
            pages = ["/", "/lapor", "/menunggu", "/transparansi", ticket]
            rows = []
            for path in pages:
                slug = path.strip("/").replace("/", "-") or "home"
                scores = [lighthouse(base + path, cookie, f"{slug}-{i}") for i in range(runs)]
                median = {k: round(statistics.median(s[k] for s in scores)) for k in scores[0]}
                rows.append((path, median, [s["performance"] for s in scores]))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per page; the median is shown")
    args = parser.parse_args()
    install()
    rows = measure(args.runs)
    print(
        f"| page (mobile, median of {args.runs}) | performance | accessibility | best practices"
        " | performance, each run | benchmark index |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    failed = False
    for path, scores, performance in rows:
        failed |= any(scores[c] < TARGET for c in CATEGORIES)
        each = " ".join(str(score) for score in performance)
        cells = [*(str(scores[c]) for c in CATEGORIES), each, str(scores["benchmark"])]
        print(f"| `{path}` | " + " | ".join(cells) + " |")
    print(f"\ntarget: each ≥ {TARGET}: {'FAILED' if failed else 'ok'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
