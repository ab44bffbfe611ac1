"""The PostgreSQL pool starts small, grows to ADUAN_DB_POOL_MAX under load and gives idle
connections back; every process names its connections, so they can be counted."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import asyncpg
import httpx
import pytest

from tests.browser import ROOT, free_port, start_server, stop_server
from tests.conftest import POSTGRES_URL, TEST_DB
from web.settings import SettingsError, load_settings

needs_postgres = pytest.mark.skipif(TEST_DB != "postgres", reason="the pool is PostgreSQL's")


def test_pool_settings_default_small_and_refuse_min_above_max():
    settings = load_settings({})
    assert (settings.db_pool_min, settings.db_pool_max) == (1, 10)
    assert load_settings({"ADUAN_DB_POOL_MAX": "3"}).db_pool_max == 3
    with pytest.raises(SettingsError, match="ADUAN_DB_POOL_MIN \\(5\\) must not exceed"):
        load_settings({"ADUAN_DB_POOL_MIN": "5", "ADUAN_DB_POOL_MAX": "3"})
    # 0 = no pool: the minimum does not apply.
    assert load_settings({"ADUAN_DB_POOL_MAX": "0"}).db_pool_max == 0


def test_old_pool_size_setting_is_read_as_the_maximum():
    assert load_settings({"ADUAN_DB_POOL_SIZE": "4"}).db_pool_max == 4
    assert load_settings({"ADUAN_DB_POOL_SIZE": "4", "ADUAN_DB_POOL_MAX": "4"}).db_pool_max == 4
    with pytest.raises(SettingsError, match="set only ADUAN_DB_POOL_MAX"):
        load_settings({"ADUAN_DB_POOL_SIZE": "4", "ADUAN_DB_POOL_MAX": "8"})


def connections_of(application_name: str) -> int:
    async def count() -> int:
        conn = await asyncpg.connect(POSTGRES_URL)
        try:
            return await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                application_name,
            )
        finally:
            await conn.close()

    return asyncio.run(count())


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@needs_postgres
def test_web_process_holds_min_at_rest_and_never_more_than_max_under_load(tmp_path):
    process, server = start_server(
        tmp_path,
        free_port(),
        ADUAN_DB_POOL_MIN="1",
        ADUAN_DB_POOL_MAX="3",
        ADUAN_DB_POOL_IDLE_SECONDS="1",
    )
    name = f"aduan-web-{process.pid}"
    try:
        # Started (a maximum below 10 used to stop start-up) and serving; one connection at rest.
        assert wait_for(lambda: connections_of(name) == 1)

        held: list[int] = []
        sampling = True

        async def sample() -> None:
            conn = await asyncpg.connect(POSTGRES_URL)
            try:
                while sampling:
                    held.append(
                        await conn.fetchval(
                            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                            name,
                        )
                    )
                    await asyncio.sleep(0.01)
            finally:
                await conn.close()

        async def load() -> list[int]:
            nonlocal sampling
            sampler = asyncio.create_task(sample())
            limits = httpx.Limits(max_connections=40)
            async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as client:
                # An old cursor: every request reads the ticket list from the database.
                responses = await asyncio.gather(
                    *(client.get("/transparansi?setelah=999999999") for _ in range(60))
                )
            sampling = False
            await sampler
            return [r.status_code for r in responses]

        statuses = asyncio.run(load())
        assert statuses == [200] * 60
        assert max(held) <= 3
        assert max(held) >= 2, "the pool never grew under parallel requests"
        # Idle connections above the minimum are given back.
        assert wait_for(lambda: connections_of(name) <= 1, timeout=10)
    finally:
        stop_server(process)


@needs_postgres
def test_worker_names_its_connections_and_starts_with_a_small_pool(tmp_path):
    env = {
        **os.environ,
        "ADUAN_DB_POOL_MAX": "2",
        "ADUAN_MEDIA_DIR": str(tmp_path / "media"),
        "PYTHONUNBUFFERED": "1",
    }
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "web.worker"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    try:
        name = f"aduan-worker-{worker.pid}"
        assert wait_for(lambda: connections_of(name) >= 1), log_path.read_text()[-2000:]
        assert worker.poll() is None, log_path.read_text()[-2000:]
        assert connections_of(name) <= 2
    finally:
        worker.terminate()
        worker.wait(timeout=15)
    assert worker.returncode == 0, log_path.read_text()[-2000:]
