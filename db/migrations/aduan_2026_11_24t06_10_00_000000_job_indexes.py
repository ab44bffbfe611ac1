"""Indexes for the background jobs (written by hand: Piccolo cannot express partial indexes).

- the notification outbox: only pending rows, in the order the worker takes them;
- the SLA job: active tickets whose near-breach or overdue mark is still missing;
- the public page's cache key (latest change to any ticket) and the reports' time windows.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-24T06:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "job indexes: outbox queue, SLA escalation, report windows"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS notification_pending ON notification (next_attempt_at, id) "
    "WHERE status = 'pending'",
    "CREATE INDEX IF NOT EXISTS complaint_sla_near_todo ON complaint (sla_warn_at) "
    "WHERE status IN ('dispatched', 'in_progress') AND sla_near_marked_at IS NULL",
    "CREATE INDEX IF NOT EXISTS complaint_sla_overdue_todo ON complaint (sla_due_at) "
    "WHERE status IN ('dispatched', 'in_progress') AND sla_overdue_marked_at IS NULL",
    "CREATE INDEX IF NOT EXISTS complaint_updated_at ON complaint (updated_at)",
    "CREATE INDEX IF NOT EXISTS complaint_sla_started_at ON complaint (sla_started_at)",
    "CREATE INDEX IF NOT EXISTS complaint_resolved_at ON complaint (resolved_at)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="aduan", description=DESCRIPTION)

    async def create_indexes():
        from db.tables import Complaint

        for statement in STATEMENTS:
            await Complaint._meta.db.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
