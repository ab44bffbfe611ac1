"""What the bench scripts share: the app served by uvicorn on a free port, as in production."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.browser import PRODUCTION_FLAGS, free_port  # noqa: E402


@contextmanager
def serve(env: dict, workers: int, log: Path | None = None) -> Iterator[str]:
    """Run uvicorn with ``workers`` processes on ``env``; yields the base URL once /readyz answers.

    With ``log``, the server's output goes to that file (e.g. to read the dev messenger's codes).
    """
    port = free_port()
    output = log.open("ab") if log else None
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "web.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            *PRODUCTION_FLAGS,
        ],
        cwd=ROOT,
        # No access line per request (the app's log level governs uvicorn's loggers too).
        env={"ADUAN_LOG_LEVEL": "WARNING", **env},
        stdout=output,
        stderr=subprocess.STDOUT if output else None,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait()
        if output:
            output.close()
