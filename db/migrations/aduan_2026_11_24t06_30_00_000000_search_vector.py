"""Full-text search on a stored tsvector (PostgreSQL only; SQLite searches with LIKE).

The GIN index over the expression found candidate rows, but every candidate, and every row a
search walked in id order, had its tsvector computed again from title and description (about
8 µs each). A stored generated column computes it once per write. Not a Piccolo column: the
table classes never read or write it. On a large live table, add the column in a maintenance
window (it rewrites the table) and build the index CONCURRENTLY by hand first.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-24T06:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "stored tsvector and id BRIN for inbox search"

STATEMENTS = [
    "ALTER TABLE complaint ADD COLUMN IF NOT EXISTS search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', title || ' ' || description)) STORED",
    "CREATE INDEX IF NOT EXISTS complaint_search_vector ON complaint USING gin (search_vector)",
    "DROP INDEX IF EXISTS complaint_search",
    # Word statistics for up to 20,000 words (10 x target): a word missing from them is then
    # known to be rare, and PostgreSQL asks the GIN index instead of walking every ticket by id.
    "ALTER TABLE complaint ALTER COLUMN search_vector SET STATISTICS 2000",
    # Word searches look among the newest ids first (web/inbox/queries.py); a BRIN index (a few
    # KB) lets PostgreSQL combine that id window with the word index. autosummarize: new ranges
    # are summarised as they fill, not only at the next VACUUM.
    "CREATE INDEX IF NOT EXISTS complaint_id_brin ON complaint USING brin (id) "
    "WITH (autosummarize = on)",
    "ANALYZE complaint",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="aduan", description=DESCRIPTION)

    async def add_search_vector():
        from db.tables import Complaint

        engine = Complaint._meta.db
        if isinstance(engine, PostgresEngine):
            for statement in STATEMENTS:
                await engine.run_ddl(statement)

    manager.add_raw(add_search_vector)
    return manager
