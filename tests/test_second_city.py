"""A second city runs from its data file alone: nothing about Cilegon is built in.

Runs in a subprocess with its own SQLite file, because the engine is chosen per process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = r"""
import re, uuid
from litestar.testing import TestClient
from web.app import create_app
from web.manage import main
from tests.helpers import post_form, last_code

main(["setup"])
with TestClient(create_app(), base_url="http://127.0.0.1:8000") as client:
    home = client.get("/")
    assert "Kota Serang" in home.text and "Cilegon" not in home.text, "home page names the city"
    # Strict policy from the Serang file: a Cilegon NIK is refused, a Serang one accepted.
    refused = post_form(client, "/daftar", {"nik": "3672015505900002", "name": "Budi", "phone": "081234500001"})
    assert refused.status_code == 400 and "Kota Serang" in refused.text
    ok = post_form(client, "/daftar", {"nik": "3673015505900002", "name": "Budi", "phone": "081234500001"})
    assert ok.status_code == 200, ok.text[:300]
    post_form(client, "/masuk/kode", {"code": last_code(client, "+6281234500001"), "action": "verify"})
    form = client.get("/lapor").text
    kelurahan = re.findall(r'<option value="(36\.73\.[0-9.]+)"', form)
    assert kelurahan, "Serang kelurahan in the form"
    category = re.findall(r'<option value="([a-z-]+)"', form)[0]
    filed = post_form(client, "/lapor", {
        "client_key": str(uuid.uuid4()), "classification": "complaint", "category": category,
        "title": "Jalan rusak di Serang", "description": "Lubang besar di jalan utama sejak minggu lalu.",
        "kelurahan": kelurahan[0], "privacy": "public",
    })
    assert re.fullmatch(r"/laporan/SRG-\d{4}-000001", filed.url.path), filed.url
print("SECOND CITY OK")
"""


def test_kota_serang_runs_from_its_data_file(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADUAN_")}
    env.update(
        ADUAN_CITY="kota-serang",
        ADUAN_VAR_DIR=str(tmp_path / "var"),
        ADUAN_DATABASE_URL=f"sqlite:///{tmp_path / 'serang.sqlite3'}",
        PYTHONPATH=str(ROOT),
    )
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "SECOND CITY OK" in result.stdout
    assert "Kota Serang dimuat" in result.stdout
