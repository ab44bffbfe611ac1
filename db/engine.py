"""Engine choice (SQLite file by default, PostgreSQL in production) and write transactions."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Protocol

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

log = logging.getLogger(__name__)

# The advisory-lock key that migrations and seeding hold (any constant; "aduan" in ASCII).
SETUP_LOCK_KEY = 0x616475616E


class DatabaseSettings(Protocol):
    """What this module reads of ``web.settings.Settings`` (db/ imports nothing from web/)."""

    @property
    def uses_postgres(self) -> bool: ...
    @property
    def resolved_database_url(self) -> str: ...
    @property
    def sqlite_path(self) -> Path: ...
    @property
    def db_pool_min(self) -> int: ...
    @property
    def db_pool_max(self) -> int: ...
    @property
    def db_pool_idle_seconds(self) -> int: ...


def application_name(role: str = "") -> str:
    """Names a process's connections in pg_stat_activity, so an operator can see who holds them."""
    return f"aduan-{role}-{os.getpid()}" if role else f"aduan-{os.getpid()}"


def make_engine(settings: DatabaseSettings) -> Engine:
    if settings.uses_postgres:
        # force_custom_plan: asyncpg reuses prepared statements, and after five runs PostgreSQL may
        # switch to a generic plan that cannot see the parameter. For a search word that plan walks
        # the whole table (seconds at a million tickets); a custom plan uses the GIN index.
        return PostgresEngine(
            config={
                "dsn": settings.resolved_database_url,
                "server_settings": {
                    "plan_cache_mode": "force_custom_plan",
                    "application_name": application_name(),
                },
            }
        )
    path = settings.sqlite_path
    path.parent.mkdir(parents=True, exist_ok=True)
    # timeout: how long a writer waits for the lock before "database is locked".
    return SQLiteEngine(path=str(path), timeout=15)


def current_engine() -> Engine:
    from db.tables import Complaint

    return Complaint._meta.db


def write_transaction():
    """A transaction for a state change.

    On SQLite it starts IMMEDIATE, taking the write lock up front: a DEFERRED transaction that
    reads first and writes later fails with "database is locked" when another writer got in between.
    """
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


def is_unique_violation(exc: BaseException, column: str) -> bool:
    """Whether ``exc`` is the database refusing a second row with the same ``column`` value: the
    last word when two requests passed their "is it taken?" check at the same moment."""
    detail = " ".join(
        str(part) for part in (exc, getattr(exc, "constraint_name", ""), getattr(exc, "detail", ""))
    )
    unique = type(exc).__name__ in ("UniqueViolationError", "IntegrityError") and (
        "UNIQUE" in detail.upper() or type(exc).__name__ == "UniqueViolationError"
    )
    return unique and column in detail


async def start_pool(settings: DatabaseSettings, role: str) -> None:
    """Start small and grow under load: N processes must not hold N x max connections at rest."""
    engine = current_engine()
    if not isinstance(engine, PostgresEngine):
        return
    engine.config["server_settings"] = {
        **engine.config.get("server_settings", {}),
        "application_name": application_name(role),
    }
    if settings.db_pool_max > 0 and engine.pool is None:
        await engine.start_connection_pool(
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
            # Connections above min_size that stay idle this long are closed (given back to
            # PostgreSQL for the other processes).
            max_inactive_connection_lifetime=settings.db_pool_idle_seconds,
        )


async def close_pool() -> None:
    engine = current_engine()
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        await engine.close_connection_pool()


async def prepare_sqlite() -> None:
    """WAL lets readers work while one writer commits; it is stored in the file, so once is enough."""
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        await engine.run_ddl("PRAGMA journal_mode=WAL")


@asynccontextmanager
async def setup_lock(settings: DatabaseSettings) -> AsyncIterator[None]:
    """One process at a time migrates and seeds a database; the others wait, then find it done.

    PostgreSQL: a session advisory lock on a connection of its own, so it spans every migration's
    and the seed's own transactions; PostgreSQL releases it when the session ends, even if the
    process is killed. SQLite: an exclusive flock on a file next to the database, released by the
    kernel when the process ends (one BEGIN EXCLUSIVE cannot span Piccolo's migrations, which open
    their own connections and transactions).
    """
    if settings.uses_postgres:
        import asyncpg

        conn = await asyncpg.connect(
            settings.resolved_database_url,
            server_settings={"application_name": application_name("setup")},
        )
        try:
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", SETUP_LOCK_KEY):
                log.warning("another process is setting up this database; waiting for it")
                await conn.execute("SELECT pg_advisory_lock($1)", SETUP_LOCK_KEY)
            yield
        finally:
            await conn.close()  # ends the session, which releases the lock
        return
    path = settings.sqlite_path
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".setup-lock"), "a") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.warning("another process is setting up this database; waiting for it")
            await asyncio.to_thread(fcntl.flock, lock_file, fcntl.LOCK_EX)
        yield  # closing the file releases the lock
