"""Indexes for the inbox at national scale (written by hand: Piccolo cannot express them).

- full-text search over title and description (PostgreSQL; SQLite searches with LIKE);
- the active SLA queue: only dispatched / in-progress tickets, ordered by due time;
- the common inbox filters, each ordered by id for keyset pages.
On a large live table, create these with CREATE INDEX CONCURRENTLY by hand first (it cannot run
inside a migration's transaction); IF NOT EXISTS then makes this migration a no-op.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-24T05:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "scale indexes: search, SLA queue, filters"

BOTH = [
    "CREATE INDEX IF NOT EXISTS complaint_active_sla ON complaint (sla_due_at, id) "
    "WHERE status IN ('dispatched', 'in_progress')",
    "CREATE INDEX IF NOT EXISTS complaint_status_id ON complaint (status, id)",
    "CREATE INDEX IF NOT EXISTS complaint_category_id ON complaint (category, id)",
    "CREATE INDEX IF NOT EXISTS complaint_kelurahan_id ON complaint (kelurahan, id)",
    "CREATE INDEX IF NOT EXISTS complaint_opd_sla ON complaint (opd, sla_due_at, id)",
    "CREATE INDEX IF NOT EXISTS complaint_citizen_id ON complaint (citizen, id)",
]
POSTGRES_ONLY = [
    "CREATE INDEX IF NOT EXISTS complaint_search ON complaint "
    "USING gin (to_tsvector('simple', title || ' ' || description))",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="aduan", description=DESCRIPTION)

    async def create_indexes():
        from db.tables import Complaint

        engine = Complaint._meta.db
        for statement in BOTH + (POSTGRES_ONLY if isinstance(engine, PostgresEngine) else []):
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
