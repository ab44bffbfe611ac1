"""Page weight of the filing page, first visit and repeat visit, as a phone on a cheap plan pays it.

Counts every byte the server sends (compressed bodies + headers) through a byte-counting proxy in
front of the app, so the service worker's own downloads (install, precache) are counted too.
Map tiles are not loaded (the map opens only on demand). Headless Debian Chromium, 360 px wide.

    .venv/bin/python bench/page_weight.py          # prints a Markdown table
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import serve  # noqa: E402
from tests.browser import CHROMIUM, CHROMIUM_ARGS, free_port  # noqa: E402

BUDGET_FIRST, BUDGET_REPEAT = 100 * 1024, 15 * 1024


class CountingProxy:
    """TCP proxy on loopback that counts bytes flowing from the server to the browser."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.bytes_down = 0
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result()

    async def _start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _pipe(self, reader, writer, count: bool) -> None:
        try:
            while data := await reader.read(65536):
                if count:
                    self.bytes_down += len(data)
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _handle(self, client_reader, client_writer) -> None:
        server_reader, server_writer = await asyncio.open_connection(
            "127.0.0.1", self.upstream_port
        )
        await asyncio.gather(
            self._pipe(client_reader, server_writer, count=False),
            self._pipe(server_reader, client_writer, count=True),
        )


def prepared_env(var_dir: Path) -> dict:
    """A fresh embedded install (SQLite + media in ``var_dir``), set up like ``scripts/run``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADUAN_")}
    env["ADUAN_VAR_DIR"] = str(var_dir)
    subprocess.run(
        [sys.executable, "-m", "web.manage", "setup", "--no-demo"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return env


def settle(page) -> None:
    page.wait_for_load_state("networkidle")
    time.sleep(0.5)


def measure() -> list[tuple[str, int, int | None]]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        serve(prepared_env(Path(tmp) / "var"), workers=1) as base,
    ):
        proxy = CountingProxy(int(base.rsplit(":", 1)[1]))
        url = f"http://127.0.0.1:{proxy.port}/lapor"
        rows = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 360, "height": 780}, is_mobile=True)
            page = context.new_page()
            page.goto(url)
            page.evaluate("navigator.serviceWorker.ready")
            settle(page)
            rows.append(
                (
                    "first visit (page + service worker install + precache)",
                    proxy.bytes_down,
                    BUDGET_FIRST,
                )
            )
            before = proxy.bytes_down
            page.goto(url)
            settle(page)
            rows.append(("repeat visit", proxy.bytes_down - before, BUDGET_REPEAT))
            before = proxy.bytes_down
            context.set_offline(True)
            page.goto(url)
            settle(page)
            rows.append(
                (
                    "repeat visit offline (from the phone's cache)",
                    proxy.bytes_down - before,
                    None,
                )
            )
            photo_sizes = queued_photo_sizes(page)
            browser.close()
    return rows, photo_sizes


def queued_photo_sizes(page) -> list[tuple[int, int]]:
    """Queue a filing offline with two 12-megapixel camera photos; return (camera, queued) bytes."""
    from tests.images import textured_camera_jpeg

    camera = [textured_camera_jpeg(), textured_camera_jpeg(4032, 3024)]
    page.select_option("#category", index=1)
    page.fill("#title", "Uji ukuran foto")
    page.fill("#description", "Mengukur ukuran foto yang dikirim dari ponsel.")
    page.set_input_files(
        "#photos",
        files=[
            {"name": f"IMG_{i}.jpg", "mimeType": "image/jpeg", "buffer": b}
            for i, b in enumerate(camera)
        ],
    )
    page.click("button[type=submit]:has-text('Kirim laporan')")
    page.wait_for_selector("[data-outbox-notice]:not([hidden])")
    for _ in range(100):
        sizes = page.evaluate(
            "AduanOutbox.all().then(items => items.flatMap(i => (i.photos || []).map(p => p.size)))"
        )
        if len(sizes) == 2:
            return list(zip((len(b) for b in camera), sizes, strict=True))
        time.sleep(0.1)
    raise RuntimeError("photos were not queued")


def main() -> int:
    rows, photo_sizes = measure()
    print("| filing page (/lapor), 360 px, gzip | transferred | budget |")
    print("|---|---:|---:|")
    failed = False
    for name, size, budget in rows:
        verdict = (
            "" if budget is None else f"{budget / 1024:.0f} KB {'ok' if size <= budget else 'OVER'}"
        )
        failed |= budget is not None and size > budget
        print(f"| {name} | {size / 1024:.1f} KB | {verdict} |")
    print()
    print(
        "| 12 MP camera photo (4000×3000, EXIF GPS) | on the phone | queued for upload | budget |"
    )
    print("|---|---:|---:|---:|")
    for i, (camera, queued) in enumerate(photo_sizes, start=1):
        failed |= queued > 600 * 1024
        print(
            f"| photo {i} | {camera / 1024 / 1024:.1f} MB | {queued / 1024:.0f} KB | 600 KB {'ok' if queued <= 600 * 1024 else 'OVER'} |"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
