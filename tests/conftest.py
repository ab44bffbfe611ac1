"""Test set-up: one real database per run (SQLite file, or PostgreSQL with ADUAN_TEST_DB=postgres).

The schema comes from the committed migrations, never from create_table, so the tests also prove
the migrations. Reference data is the real city file; mutable tables are emptied after each test.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import os
import shutil
import subprocess
import tempfile
import weakref
from pathlib import Path

import pytest

# The engine is chosen when piccolo_conf is first imported: settle the environment before that.
_TMP = Path(tempfile.mkdtemp(prefix="aduan-tests-"))
TEST_DB = os.environ.get("ADUAN_TEST_DB", "sqlite")
POSTGRES_URL = os.environ.get(
    "ADUAN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
for name in list(os.environ):
    if name.startswith("ADUAN_") and not name.startswith("ADUAN_TEST_"):
        del os.environ[name]
os.environ["ADUAN_VAR_DIR"] = str(_TMP / "var")
os.environ["ADUAN_CITY"] = "cilegon"
# The stand-in push service (tests/fake_push.py) listens on loopback, which the default refuses,
# and this machine resolves no public names. The SSRF tests set push_allowed_hosts="" instead.
os.environ["ADUAN_PUSH_ALLOWED_HOSTS"] = (
    "127.0.0.1,fcm.googleapis.com,*.push.services.mozilla.com,web.push.apple.com"
)
os.environ["ADUAN_DATABASE_URL"] = (
    POSTGRES_URL if TEST_DB == "postgres" else f"sqlite:///{_TMP / 'var' / 'test.sqlite3'}"
)

from datetime import UTC, date, datetime, timedelta  # noqa: E402

from litestar.testing import TestClient  # noqa: E402

from db.city_data import Question  # noqa: E402
from db.tables import (  # noqa: E402
    ApiKey,
    AuditLog,
    CallLog,
    Category,
    Citizen,
    Complaint,
    ComplaintPhoto,
    DailyReport,
    HttpSession,
    JobLease,
    Notification,
    PublicSnapshot,
    PushSubscription,
    RateLimit,
    SignInCode,
    StaffUser,
    TicketSequence,
    TimelineEvent,
)
from tests.browser import chromium, live_server, no_csp_violations, phone  # noqa: E402, F401
from tests.factories import dispatched_ticket, world  # noqa: E402, F401
from tests.fake_push import push_service  # noqa: E402, F401
from tests.fake_whatsapp import fake_whatsapp  # noqa: E402, F401
from tests.s3_server import minio_storage, s3_relay, s3_server  # noqa: E402, F401
from web.inbox import queries as inbox_queries  # noqa: E402
from web.settings import get_settings  # noqa: E402


def pytest_configure(config):
    """scripts/test re-runs the clock tests under faketime with ADUAN_TEST_EXPECT_DATE: refuse to
    run if the clock did not move, so that step cannot pass by testing today again."""
    expected = os.environ.get("ADUAN_TEST_EXPECT_DATE")
    if expected:
        today = datetime.now(UTC).date()
        if not date.fromisoformat(expected) <= today <= date.fromisoformat(expected) + timedelta(1):
            raise pytest.UsageError(f"the clock says {today}, expected {expected} (faketime?)")


def pytest_collection_modifyitems(items):
    # A test that drives Chromium is a browser test whether or not its module says so.
    for item in items:
        if {"chromium", "phone", "live_server"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)
        if TEST_DB != "postgres" and item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (ADUAN_TEST_DB=postgres)"))


def run_async(fn):
    """Run ``fn()`` to completion on a fresh loop in a worker thread.

    A thread, because Playwright's sync API keeps an event loop running on the test's own thread.
    """
    from concurrent.futures import ThreadPoolExecutor

    async def runner():
        return await fn()  # a coroutine, or an awaitable Piccolo query

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(runner())).result()


MUTABLE_TABLES = [
    PublicSnapshot,
    Notification,
    PushSubscription,
    JobLease,
    DailyReport,
    CallLog,
    ComplaintPhoto,
    TimelineEvent,
    Complaint,
    TicketSequence,
    AuditLog,
    SignInCode,
    RateLimit,
    HttpSession,
    ApiKey,
    StaffUser,
    Citizen,
]


async def _reset_postgres() -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


async def _prepare_database() -> None:
    from web.city import get_city
    from web.manage import migrate
    from web.seed import seed_city

    if TEST_DB == "postgres":
        await _reset_postgres()
    await migrate()
    await seed_city(get_city())


@pytest.fixture(scope="session", autouse=True)
def database():
    DATABASE_USE.install()
    run_async(_prepare_database)
    yield TEST_DB
    shutil.rmtree(_TMP, ignore_errors=True)


async def _empty_mutable_tables() -> None:
    for table in MUTABLE_TABLES:
        await table.delete(force=True)


class DatabaseUse:
    """Counts every way this process reaches the test database, so a test that never did can skip
    the wipe (16 deletes; most of a pure test's time). Counted: each statement through a Piccolo
    engine (the in-process app included), each raw asyncpg or sqlite3 connection, and each
    subprocess started. The counter only grows; the wipe runs whenever it moved since the last
    wipe, whichever test or thread moved it, and while any subprocess started here still runs (a
    server kept by a module fixture writes from outside, out of the counter's sight)."""

    def __init__(self) -> None:
        self.count = 0
        self.at_last_wipe = -1  # the first test always wipes
        self.processes: weakref.WeakSet[subprocess.Popen] = weakref.WeakSet()

    def seen(self) -> None:
        self.count += 1

    def install(self) -> None:
        import sqlite3

        import asyncpg
        from piccolo.engine.postgres import PostgresEngine
        from piccolo.engine.sqlite import SQLiteEngine

        for engine_class in (PostgresEngine, SQLiteEngine):
            for method in ("run_querystring", "run_ddl"):
                setattr(engine_class, method, self._counting_async(getattr(engine_class, method)))
        asyncpg.connect = self._counting_async(asyncpg.connect)
        asyncpg.create_pool = self._counting(asyncpg.create_pool)
        sqlite3.connect = self._counting(sqlite3.connect)
        popen_init = subprocess.Popen.__init__

        def started(process, *args, **kwargs):
            self.seen()
            popen_init(process, *args, **kwargs)
            self.processes.add(process)

        subprocess.Popen.__init__ = functools.wraps(popen_init)(started)

    def _counting(self, original):
        def counted(*args, **kwargs):
            self.seen()
            return original(*args, **kwargs)

        return functools.wraps(original)(counted)

    def _counting_async(self, original):
        async def counted(*args, **kwargs):
            self.seen()
            return await original(*args, **kwargs)

        return functools.wraps(original)(counted)

    def needs_wipe(self, item: pytest.Item) -> bool:
        # Belt and braces: tests that drive other processes wipe even if the counter missed them.
        if item.get_closest_marker("browser") or item.get_closest_marker("postgres"):
            return True
        if ALWAYS_WIPE_FIXTURES & set(getattr(item, "fixturenames", ())):
            return True
        if any(process.poll() is None for process in list(self.processes)):
            return True
        return self.count != self.at_last_wipe

    def wiped(self) -> None:
        self.at_last_wipe = self.count


# Fixtures whose servers or workers run in other processes, out of the counter's sight (and may
# write between tests, after the subprocess that started them was counted).
ALWAYS_WIPE_FIXTURES = frozenset({"live_server", "chromium", "phone", "cluster"})
DATABASE_USE = DatabaseUse()


@pytest.fixture(autouse=True)
def clean_tables(database, request):
    # The inbox's reference data is cached per process for a minute: each test loads its own, so
    # an expiry in the middle of a test (a slow machine) cannot add queries to what it counts.
    inbox_queries._reference = None
    yield
    if DATABASE_USE.needs_wipe(request.node):
        run_async(_empty_mutable_tables)
        DATABASE_USE.wiped()


@pytest.fixture
def settings(tmp_path):
    """Test settings: media in this test's own folder, so stray files are easy to spot."""
    # Background jobs stay off: a test runs the job it is about by calling it. The public page
    # shows changes at once (its refresh interval has a test of its own).
    return dataclasses.replace(
        get_settings(),
        media_dir=tmp_path / "media",
        jobs_in_process=False,
        public_refresh_seconds=0,
    )


@pytest.fixture
def make_client(settings):
    """Start the real app (lifespan included) with optional setting overrides.

    Every client of one test shares one event loop, as the apps of one process do: the
    PostgreSQL pool belongs to the engine, and asyncpg connections cannot change loops.
    """
    from anyio.from_thread import start_blocking_portal

    from web.app import create_app

    clients = []
    with start_blocking_portal(backend="asyncio") as portal:

        def factory(**overrides) -> TestClient:
            app = create_app(dataclasses.replace(settings, **overrides))
            client = TestClient(app=app, base_url="http://127.0.0.1:8000")
            client.blocking_portal = portal
            client.__enter__()
            clients.append(client)
            return client

        yield factory
        for client in reversed(clients):
            client.__exit__(None, None, None)


@pytest.fixture
def client(make_client):
    return make_client()


@pytest.fixture
def give_questions(make_client):
    """Sets a category's questions as the admin page would; the seeded ones come back after
    (categories are reference data: the tables' wipe between tests leaves them). Through an app
    of its own: on PostgreSQL the database is reached on the app's loop, as ``db`` does."""
    from tests.helpers import db

    app = make_client()
    before = db(app, lambda: Category.select(Category.slug, Category.questions))

    def give(slug: str, *questions: Question) -> None:
        text = json.dumps([q.as_dict() for q in questions])
        db(app, lambda: Category.update({Category.questions: text}).where(Category.slug == slug))

    yield give
    for row in before:
        db(
            app,
            lambda row=row: Category.update({Category.questions: row["questions"]}).where(
                Category.slug == row["slug"]
            ),
        )
