"""The committed migrations, applied to an empty database at the start of the run (conftest), must
produce exactly the schema the table classes describe, on whichever engine this run uses."""

from __future__ import annotations

from piccolo.apps.migrations.commands.new import AutoMigrationManager
from piccolo.columns import Serial

from db.piccolo_app import APP_CONFIG
from db.tables import ALL_TABLES
from tests.conftest import TEST_DB, run_async

PG_TYPES = {
    "VARCHAR": "character varying",
    "TEXT": "text",
    "INTEGER": "integer",
    "SERIAL": "integer",
    "BOOLEAN": "boolean",
    "TIMESTAMPTZ": "timestamp with time zone",
    "DOUBLE PRECISION": "double precision",
    "BYTEA": "bytea",
    "UUID": "uuid",
    "DATE": "date",
}

# Columns the table classes deliberately leave out (hand-written migrations, PostgreSQL only).
POSTGRES_ONLY_COLUMNS = {"complaint": {"search_vector"}}


async def _schema(tablename: str) -> tuple[dict[str, dict], set[str]]:
    """Columns (name -> type, nullable, length) and the columns that carry an index."""
    table_cls = next(t for t in ALL_TABLES if t._meta.tablename == tablename)
    if TEST_DB == "postgres":
        columns = await table_cls.raw(
            "SELECT column_name AS name, data_type AS type, is_nullable = 'YES' AS nullable, "
            "character_maximum_length AS length FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = {}",
            tablename,
        )
        indexes = await table_cls.raw(
            "SELECT indexdef AS definition FROM pg_indexes WHERE schemaname = 'public' AND tablename = {}",
            tablename,
        )
        indexed = {d["definition"].rsplit("(", 1)[-1].rstrip(")").strip('"') for d in indexes}
        return {c["name"]: c for c in columns}, indexed
    columns = await table_cls.raw(f"PRAGMA table_info('{tablename}')")
    result = {
        c["name"]: {"name": c["name"], "type": c["type"], "nullable": not c["notnull"]}
        for c in columns
    }
    indexed = set()
    for index in await table_cls.raw(f"PRAGMA index_list('{tablename}')"):
        for info in await table_cls.raw(f"PRAGMA index_info('{index['name']}')"):
            indexed.add(info["name"])
    return result, indexed


def test_migrations_create_every_table_with_every_column():
    for table in ALL_TABLES:
        columns, indexed = run_async(lambda table=table: _schema(table._meta.tablename))
        expected = {c._meta.db_column_name: c for c in table._meta.columns}
        extra = (
            POSTGRES_ONLY_COLUMNS.get(table._meta.tablename, set())
            if TEST_DB == "postgres"
            else set()
        )
        assert set(columns) == set(expected) | extra, f"{table._meta.tablename}: columns differ"
        for name, column in expected.items():
            actual = columns[name]
            if not isinstance(column, Serial):
                assert actual["nullable"] == column._meta.null, (
                    f"{table._meta.tablename}.{name} nullability"
                )
            if TEST_DB == "postgres":
                assert actual["type"] == PG_TYPES[column.column_type.split("(")[0]], (
                    f"{table._meta.tablename}.{name}"
                )
                if column.column_type.startswith("VARCHAR"):
                    assert actual["length"] == column.length, (
                        f"{table._meta.tablename}.{name} length"
                    )
            if column._meta.index or column._meta.unique:
                assert name in indexed, f"{table._meta.tablename}.{name} should be indexed"


def test_table_definitions_need_no_new_migration():
    async def pending():
        statements = await AutoMigrationManager(auto_input="y").get_alter_statements(
            app_config=APP_CONFIG
        )
        return [s for group in statements for s in group.statements]

    assert run_async(pending) == [], (
        "tables changed without a migration: run piccolo migrations new aduan --auto"
    )


def test_every_migration_has_its_own_id():
    """Two branches can each add a migration at the same minute; Piccolo would then run only one
    of them and record the other as done."""
    import re
    from collections import Counter
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "db" / "migrations"
    ids = Counter(
        match.group(1)
        for path in folder.glob("*.py")
        if (match := re.search(r'^ID = "([^"]+)"', path.read_text(), re.MULTILINE))
    )
    assert [migration_id for migration_id, count in ids.items() if count > 1] == []
    assert len(ids) >= 10
