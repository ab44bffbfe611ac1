"""Open311 indexes (by hand: Piccolo has no partial or covering index). PostgreSQL only.

GET requests.json pages through the public tickets (``web.reports.public.listed``) newest first,
filtered by date, category, status and bounding box. Two partial indexes hold exactly those
tickets and carry every filtered column, so a page's ids come from an index-only scan (the rows
of those 50 ids are read after, in the same statement):

- ``complaint_public_by_time``, in page order: a deep page or a rare filter reads index entries,
  never table rows (at 1 M tickets page 200 went from 22 ms to 2 ms);
- ``complaint_public_by_place``, by longitude and latitude: for a map box where few tickets lie
  the planner takes it instead of walking the whole 90 days newest first (an empty box: 185 ms
  without either index, 15 ms with the first, 0.1 ms with this one).

The lists are the ones ``public.listed()`` writes; the planner uses an index only when a query's
own lists imply them, so a change there needs new indexes here (a test compares them).
SQLite (small installs) would need the query's WHERE to repeat the index's terms word for word,
which parameterised queries never do: nothing is created there.
On a large live table, create them with CREATE INDEX CONCURRENTLY by hand first; IF NOT EXISTS then
makes this migration a no-op.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-30T10:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Open311 indexes: public tickets by time and by place, covering the API's filters"

PUBLIC_TICKETS = (
    "WHERE status IN ('verified', 'dispatched', 'in_progress', 'resolved', 'closed') "
    "AND privacy IN ('public', 'anonymous')"
)
POSTGRES_ONLY = [
    "CREATE INDEX IF NOT EXISTS complaint_public_by_time ON complaint (created_at, id) "
    f"INCLUDE (category, status, latitude, longitude) {PUBLIC_TICKETS}",
    "CREATE INDEX IF NOT EXISTS complaint_public_by_place ON complaint (longitude, latitude) "
    f"INCLUDE (created_at, id, category, status) {PUBLIC_TICKETS}",
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
