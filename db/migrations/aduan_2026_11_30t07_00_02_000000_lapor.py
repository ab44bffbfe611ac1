"""SP4N-LAPOR! reconciliation: a ticket's LAPOR! tracking ID and what was last copied into LAPOR!.

The indexes follow in the next migration (Piccolo runs a migration's raw steps before its columns).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T07:00:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "SP4N-LAPOR! tracking id and sync mark"

PARAMS = {
    "default": None,
    "null": True,
    "primary_key": False,
    "unique": False,
    "index": False,
    "index_method": IndexMethod.btree,
    "choices": None,
    "db_column_name": None,
    "secret": False,
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="aduan", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Complaint",
        tablename="complaint",
        column_name="lapor_id",
        db_column_name="lapor_id",
        column_class_name="Varchar",
        column_class=Varchar,
        params={**PARAMS, "length": 40},
        schema=None,
    )
    manager.add_column(
        table_class_name="Complaint",
        tablename="complaint",
        column_name="lapor_synced_event",
        db_column_name="lapor_synced_event",
        column_class_name="Integer",
        column_class=Integer,
        params=PARAMS,
        schema=None,
    )

    return manager
