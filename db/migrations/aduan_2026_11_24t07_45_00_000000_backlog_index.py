"""The overdue backlog per OPD (leaders' report, "Terlambat"): open tickets by OPD and due time,
so the count is an index-only scan instead of reading every open ticket's row."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-24T07:45:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "index for the overdue backlog per OPD"

STATEMENT = (
    "CREATE INDEX IF NOT EXISTS complaint_active_opd_due ON complaint (opd, sla_due_at) "
    "WHERE status IN ('dispatched', 'in_progress')"
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="aduan", description=DESCRIPTION)

    async def create_index():
        from db.tables import Complaint

        await Complaint._meta.db.run_ddl(STATEMENT)

    manager.add_raw(create_index)
    return manager
