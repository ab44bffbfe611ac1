"""Engine choice (SQLite file by default, PostgreSQL in production) and write transactions."""

from __future__ import annotations

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from web.settings import Settings


def make_engine(settings: Settings) -> Engine:
    if settings.uses_postgres:
        # force_custom_plan: asyncpg reuses prepared statements, and after five runs PostgreSQL may
        # switch to a generic plan that cannot see the parameter. For a search word that plan walks
        # the whole table (seconds at a million tickets); a custom plan uses the GIN index.
        return PostgresEngine(
            config={
                "dsn": settings.resolved_database_url,
                "server_settings": {"plan_cache_mode": "force_custom_plan"},
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


async def start_pool(settings: Settings) -> None:
    engine = current_engine()
    if isinstance(engine, PostgresEngine) and settings.db_pool_size > 0 and engine.pool is None:
        await engine.start_connection_pool(max_size=settings.db_pool_size)


async def close_pool() -> None:
    engine = current_engine()
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        await engine.close_connection_pool()


async def prepare_sqlite() -> None:
    """WAL lets readers work while one writer commits; it is stored in the file, so once is enough."""
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        await engine.run_ddl("PRAGMA journal_mode=WAL")
