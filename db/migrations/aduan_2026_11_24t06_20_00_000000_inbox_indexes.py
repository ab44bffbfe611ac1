"""More inbox indexes (written by hand: Piccolo cannot express partial indexes).

- "duplicate of": open tickets of one category by latitude band, so the 250 m search in the
  detail panel reads a few hundred index entries instead of walking the table by id;
- the common filter pair category + status, ordered by id for keyset pages.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-24T06:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "inbox indexes: nearby open tickets, category + status"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS complaint_open_by_place ON complaint "
    "(category, latitude, longitude) "
    "WHERE status IN ('received', 'verified', 'dispatched', 'in_progress', 'returned', 'reopened')",
    "CREATE INDEX IF NOT EXISTS complaint_category_status_id ON complaint (category, status, id)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="aduan", description=DESCRIPTION)

    async def create_indexes():
        from db.tables import Complaint

        for statement in STATEMENTS:
            await Complaint._meta.db.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
