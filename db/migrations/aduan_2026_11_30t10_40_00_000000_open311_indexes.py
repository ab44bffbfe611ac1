"""Open311 index (by hand: Piccolo has no partial or covering index). PostgreSQL only.

GET requests.json pages through the public tickets (``web.reports.public.listed``) newest first,
filtered by date, category, status and bounding box. This partial index holds exactly those tickets
in that order and carries every filtered column, so a page's ids come from an index-only scan:
a deep page or a box where no ticket lies reads index entries, never table rows (at 1 M tickets, a
map box with nothing inside went from 185 ms to 15 ms, page 200 from 22 ms to 2 ms). The lists
are the ones ``public.listed()`` writes; the planner uses the index only when a query's own lists
imply them, so a change there needs a new index here.

SQLite (small installs) would need the query's WHERE to repeat the index's terms word for word,
which parameterised queries never do: nothing is created there.
On a large live table, create it with CREATE INDEX CONCURRENTLY by hand first; IF NOT EXISTS then
makes this migration a no-op.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-30T10:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Open311 index: public tickets by time, covering the API's filters"

POSTGRES_ONLY = [
    "CREATE INDEX IF NOT EXISTS complaint_public_by_time ON complaint (created_at, id) "
    "INCLUDE (category, status, latitude, longitude) "
    "WHERE status IN ('verified', 'dispatched', 'in_progress', 'resolved', 'closed') "
    "AND privacy IN ('public', 'anonymous')",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="aduan", description=DESCRIPTION)

    async def create_indexes():
        from db.tables import Complaint

        engine = Complaint._meta.db
        if isinstance(engine, PostgresEngine):
            for statement in POSTGRES_ONLY:
                await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
