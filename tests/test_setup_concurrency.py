"""Any number of processes may run ``python -m web.manage setup`` at once (every node of a
multi-node deployment runs it at start): one applies the migrations and loads the data, the others
wait for it and find nothing left to do."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from db.city_data import load_city
from tests.conftest import POSTGRES_URL, TEST_DB, run_async

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = sorted(
    re.search(r'^ID = "(.+)"', p.read_text(), flags=re.MULTILINE)[1]
    for p in (ROOT / "db" / "migrations").glob("aduan_*.py")
)
SETUPS = 4


@pytest.fixture
def fresh_database_url(tmp_path):
    """An empty database of this run's engine, of its own (the suite's database is already set up)."""
    if TEST_DB != "postgres":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    base, _, name = POSTGRES_URL.rpartition("/")
    fresh = f"{name}_fresh_setup"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(f"{base}/postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    run_async(lambda: admin(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)'))
    run_async(lambda: admin(f'CREATE DATABASE "{fresh}"'))
    yield f"{base}/{fresh}"
    run_async(lambda: admin(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)'))


def _counts(url: str) -> dict:
    tables = ["city_info", "opd", "kecamatan", "kelurahan", "category", "staff_user", "citizen"]
    if url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
            counts["migrations"] = [
                r[0] for r in conn.execute("SELECT name FROM migration ORDER BY name")
            ]
        return counts

    async def read() -> dict:
        conn = await asyncpg.connect(url)
        try:
            counts = {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in tables}
            counts["migrations"] = [
                r["name"] for r in await conn.fetch("SELECT name FROM migration ORDER BY name")
            ]
            return counts
        finally:
            await conn.close()

    return asyncio.run(read())


def test_simultaneous_setups_all_succeed_and_apply_everything_once(fresh_database_url, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADUAN_")}
    env.update(ADUAN_DATABASE_URL=fresh_database_url, ADUAN_CITY="cilegon")
    processes = []
    for i in range(SETUPS):
        # Each its own var/, as on separate machines: only the database is shared.
        env_i = {**env, "ADUAN_VAR_DIR": str(tmp_path / f"var{i}")}
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "web.manage", "setup"],
                cwd=ROOT,
                env=env_i,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output[-3000:]

    city = load_city("cilegon")
    counts = _counts(fresh_database_url)
    assert counts["migrations"] == MIGRATIONS  # each once, none missing
    assert counts["city_info"] == 1
    assert counts["opd"] == len(city.opds)
    assert counts["kecamatan"] == len(city.kecamatan)
    assert counts["kelurahan"] == len(city.all_kelurahan())
    assert counts["category"] == len(city.categories)
    assert counts["staff_user"] == 4  # the demo accounts, once
    assert counts["citizen"] == 1
