"""Categories carry their own questions (Open311 service attributes), as JSON from the city file."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T07:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "category questions"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="aduan", description=DESCRIPTION)

    manager.add_column(
        table_class_name="Category",
        tablename="category",
        column_name="questions",
        db_column_name="questions",
        column_class_name="Text",
        column_class=Text,
        params={
            "default": "[]",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )
    return manager
