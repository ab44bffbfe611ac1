"""Job health: when each background job last succeeded, its last error, and when supervisors were
last told that it is late (once per late spell), and when the row was made (the reference
before a first success). Additive: the previous release ignores them."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T00:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "job health columns"


def _params(default, *, null: bool, **extra) -> dict:
    return {
        "default": default,
        "null": null,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
        **extra,
    }


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="aduan", description=DESCRIPTION)
    for name in ("last_succeeded_at", "late_alerted_at", "created_at"):
        manager.add_column(
            table_class_name="JobLease",
            tablename="job_lease",
            column_name=name,
            db_column_name=name,
            column_class_name="Timestamptz",
            column_class=Timestamptz,
            params=_params(None, null=True),
            schema=None,
        )
    manager.add_column(
        table_class_name="JobLease",
        tablename="job_lease",
        column_name="last_error",
        db_column_name="last_error",
        column_class_name="Varchar",
        column_class=Varchar,
        params=_params("", null=False, length=300),
        schema=None,
    )
    return manager
