"""Index for the shift report (written by hand, like the other index migrations).

The shift report counts the timeline's verify, dispatch, reject and duplicate events of one shift:
without an index on the event time that is a scan of every event ever written.
On a large live table, create it with CREATE INDEX CONCURRENTLY by hand first; IF NOT EXISTS then
makes this migration a no-op.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-24T07:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "report indexes: timeline events by time"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS timeline_event_created_at ON timeline_event (created_at)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="aduan", description=DESCRIPTION)

    async def create_indexes():
        from db.tables import TimelineEvent

        for statement in STATEMENTS:
            await TimelineEvent._meta.db.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
