"""Outbox indexes: removing a device (or a 410 from the push service) sets its notifications'
subscription to NULL, and the hourly clean-up deletes finished rows by age; without these both
would read the whole outbox."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-24T07:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "notification indexes: by subscription, by age"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS notification_subscription ON notification (subscription)",
    "CREATE INDEX IF NOT EXISTS notification_created_at ON notification (created_at)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="aduan", description=DESCRIPTION)

    async def create_indexes():
        from db.tables import Notification

        for statement in STATEMENTS:
            await Notification._meta.db.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
