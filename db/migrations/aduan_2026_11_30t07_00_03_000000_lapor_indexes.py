"""SP4N-LAPOR! indexes (by hand: SQLite cannot add a UNIQUE column, Piccolo no partial index).

The tracking ID is unique through its own index; NULLs never collide. Public timeline events by
ticket and id make the "Perlu diperbarui di LAPOR!" list and its figure one index lookup per
LAPOR!-linked ticket.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-30T07:00:03:000000"
VERSION = "1.38.0"
DESCRIPTION = "SP4N-LAPOR! indexes"

INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS complaint_lapor_id ON complaint (lapor_id)",
    "CREATE INDEX IF NOT EXISTS timeline_event_public_latest ON timeline_event (complaint, id) "
    "WHERE is_public AND kind <> 'created'",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="aduan", description=DESCRIPTION)

    async def create_indexes():
        from db.tables import Complaint

        for statement in INDEXES:
            await Complaint._meta.db.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
