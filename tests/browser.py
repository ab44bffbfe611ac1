"""Fixtures for tests in real headless Chromium against a real server process on a free port."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("ADUAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Cilegon city centre, as a phone's GPS would report it.
GPS_FIX = {"latitude": -6.0021, "longitude": 106.0443, "accuracy": 12}


@dataclass
class LiveServer:
    url: str
    log_path: Path
    media_dir: Path

    def sign_in_codes(self, phone_e164: str) -> list[str]:
        """Every code the dev messenger logged for this number, oldest first."""
        pattern = re.compile(rf"DEV MESSENGER code for {re.escape(phone_e164)}: (\d{{6}})")
        return pattern.findall(self.log_path.read_text(errors="replace"))

    def sign_in_code(self, phone_e164: str, timeout: float = 5.0, after: int = 0) -> str:
        """The latest code the dev messenger logged for this number; with ``after`` (how many
        codes there were before asking for one), only a code logged since then."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            codes = self.sign_in_codes(phone_e164)
            if len(codes) > after:
                return codes[-1]
            time.sleep(0.1)
        raise AssertionError(f"no new sign-in code for {phone_e164} in the server log")


# As in scripts/run and deploy/systemd: the app alone reads X-Forwarded-For (ADUAN_TRUSTED_PROXIES).
PRODUCTION_FLAGS = ["--no-proxy-headers", "--timeout-keep-alive", "5"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    folder: Path, port: int, *, ready_path: str = "/readyz", **env_overrides: str
) -> tuple[subprocess.Popen, LiveServer]:
    """Run uvicorn on the test database (the conftest empties its tables after each test).

    Returns once ``ready_path`` answers 200: readiness by default (the database answers).
    """
    env = {
        **os.environ,
        "ADUAN_MEDIA_DIR": str(folder / "media"),
        "PYTHONUNBUFFERED": "1",
        # No background jobs, as in the in-process clients: a session-long server delivering
        # notifications or escalating tickets would race the tests that run those jobs themselves.
        "ADUAN_JOBS_IN_PROCESS": "false",
        # The public page shows changes at once, as in the in-process clients: a figure cached by
        # one test must not answer for the next test's data.
        "ADUAN_PUBLIC_REFRESH_SECONDS": "0",
        **env_overrides,
    }
    log_path = folder / f"server-{port}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "web.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *PRODUCTION_FLAGS,
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}{ready_path}", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("server did not start:\n" + log_path.read_text()[-3000:])
        time.sleep(0.2)
    return process, LiveServer(url=url, log_path=log_path, media_dir=folder / "media")


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def live_server(database, tmp_path_factory):
    process, server = start_server(tmp_path_factory.mktemp("live"), free_port())
    yield server
    stop_server(process)


# Every page reports what the Content-Security-Policy blocked (inline script or style, eval, an
# image or a connection to an origin the policy leaves out) back to the test.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (event) {
  window.__aduanCspViolation([event.violatedDirective, event.blockedURI,
    event.sourceFile + ":" + event.lineNumber, event.sample].join(" | "));
});
"""


class CspCheckedBrowser:
    """The Chromium browser, whose every context records CSP violations (see no_csp_violations)."""

    def __init__(self, browser) -> None:
        self._browser = browser
        self.violations: list[str] = []

    def __getattr__(self, name):
        return getattr(self._browser, name)

    def new_context(self, **kwargs):
        context = self._browser.new_context(**kwargs)
        context.expose_binding(
            "__aduanCspViolation",
            lambda source, text: self.violations.append(f"{source['frame'].url}: {text}"),
        )
        context.add_init_script(REPORT_CSP_VIOLATIONS)

        def console(message) -> None:
            if "Content Security Policy" in message.text:
                self.violations.append(f"console: {message.text}")

        context.on("console", console)
        return context

    def take_violations(self) -> list[str]:
        found, self.violations = self.violations, []
        return found


@pytest.fixture(scope="module")
def chromium():
    """One browser per test module: Playwright's sync API runs an event loop on this thread, which
    must be gone before other modules' tests run their own loops."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: scripts/bootstrap test installs it (apt)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield CspCheckedBrowser(browser)
        browser.close()


@pytest.fixture(autouse=True)
def no_csp_violations(request):
    """Browser tests run with the real CSP enforced and fail on anything it blocked."""
    yield
    if "chromium" in request.fixturenames:
        found = request.getfixturevalue("chromium").take_violations()
        assert found == [], "Content-Security-Policy violations:\n" + "\n".join(found)


def new_phone(chromium, background_sync: bool = True):
    """A fresh phone: 360 px wide, GPS allowed, nothing cached. Without background sync it is a
    browser like Safari or Firefox, where only open pages send."""
    context = chromium.new_context(
        viewport={"width": 360, "height": 780},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        permissions=["geolocation", "background-sync"] if background_sync else ["geolocation"],
        geolocation=GPS_FIX,
        locale="id-ID",
    )
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
def phone(chromium):
    """A fresh phone with background sync allowed (Chromium on Android)."""
    context = new_phone(chromium)
    yield context
    context.close()


def create_staff(role, username, opd_slug=None):
    """A staff account made directly in the database, for a browser to sign in with."""
    from db.tables import Opd, StaffUser
    from tests.conftest import run_async
    from tests.staff_helpers import PASSWORD
    from web.staff.auth import hash_password

    async def create():
        opd_id = (
            (await Opd.select(Opd.id).where(Opd.slug == opd_slug).first())["id"]
            if opd_slug
            else None
        )
        await StaffUser.insert(
            StaffUser(
                username=username,
                name=username.title(),
                role=role,
                opd=opd_id,
                password_hash=hash_password(PASSWORD),
            )
        )

    run_async(create)


def staff_page(browser, server, username, viewport):
    """A new browser context signed in as ``username`` through the staff sign-in form."""
    from tests.staff_helpers import PASSWORD

    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(server.url + "/staf/masuk")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    return context, page
