"""Stored codes in English (README "Naming"): classifications, privacy levels and channels were
Indonesian words. Rewrites every stored copy: the complaint columns and the channel mix frozen
in each daily report; the public page's snapshot is dropped (the worker computes it again).
The audit log keeps what it recorded then. Idempotent: only old codes are rewritten, so running
it again (say after an old process wrote a ticket during a rolling deploy) changes nothing else.
Forms keep accepting the old codes (web/vocabulary.py: OLD_CODES).
"""

import json

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-30T02:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "English codes for classification, privacy and channel"

# Frozen here: a migration must not follow later changes to the application's vocabulary.
RENAMED = {
    "classification": {
        "pengaduan": "complaint",
        "aspirasi": "aspiration",
        "informasi": "information",
    },
    "privacy": {"publik": "public", "anonim": "anonymous", "rahasia": "confidential"},
    "channel": {"telepon": "phone", "datang": "walk_in", "112": "call_112"},
}


WIDEN_PRIVACY = "ALTER TABLE complaint ALTER COLUMN privacy TYPE VARCHAR(12)"


class _Manager(MigrationManager):
    """SQLite has no ALTER COLUMN (and ignores VARCHAR lengths): there the widened column stays
    in Piccolo's schema history only."""

    async def _run_alter_columns(self, backwards: bool = False) -> None:
        if isinstance(engine_finder(), PostgresEngine):
            await super()._run_alter_columns(backwards=backwards)


async def forwards():
    manager = _Manager(migration_id=ID, app_name="aduan", description=DESCRIPTION)

    # "confidential" needs 12 characters.
    manager.alter_column(
        table_class_name="Complaint",
        tablename="complaint",
        column_name="privacy",
        db_column_name="privacy",
        params={"length": 12},
        old_params={"length": 8},
        column_class=Varchar,
        old_column_class=Varchar,
        schema=None,
    )

    async def rewrite_codes():
        from db.tables import Complaint

        if isinstance(Complaint._meta.db, PostgresEngine):
            # Piccolo runs raw steps before column changes: widen first for the new codes.
            await Complaint._meta.db.run_ddl(WIDEN_PRIVACY)
        for column, renamed in RENAMED.items():
            cases = " ".join(f"WHEN '{old}' THEN '{new}'" for old, new in renamed.items())
            olds = ", ".join(f"'{old}'" for old in renamed)
            await Complaint.raw(
                f"UPDATE complaint SET {column} = CASE {column} {cases} END "
                f"WHERE {column} IN ({olds})"
            )

        channels = RENAMED["channel"]
        for row in await Complaint.raw("SELECT id, figures FROM daily_report"):
            figures = json.loads(row["figures"])
            mix = figures.get("channels") or {}
            if not any(code in channels for code in mix):
                continue
            # Same order: the report lists channels as stored.
            figures["channels"] = {channels.get(code, code): n for code, n in mix.items()}
            await Complaint.raw(
                "UPDATE daily_report SET figures = {} WHERE id = {}",
                json.dumps(figures, ensure_ascii=False),
                row["id"],
            )

        await Complaint.raw("DELETE FROM public_snapshot")

    manager.add_raw(rewrite_codes)
    return manager
