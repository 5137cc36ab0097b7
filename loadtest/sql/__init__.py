"""SQL of the load-test tooling (one statement per file, loaded once at import)."""

from sequencer_project.db.sql import load_sql

DELETE_SCRATCH_TENANT = load_sql(__file__, "delete_scratch_tenant.sql")
SELECT_DATABASE_BACKENDS = load_sql(__file__, "select_database_backends.sql")
