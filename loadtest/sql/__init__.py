"""SQL of the load-test tooling (one statement per file, loaded once at import)."""

from sequencer_project.db.sql import load_sql

DELETE_SCRATCH_TENANT = load_sql(__file__, "delete_scratch_tenant.sql")
SELECT_DATABASE_BACKENDS = load_sql(__file__, "select_database_backends.sql")
SELECT_FREE_CONNECTIONS = load_sql(__file__, "select_free_connections.sql")
SELECT_WAL_COUNTERS = load_sql(__file__, "select_wal_counters.sql")
SELECT_SEQUENCED_TOTAL = load_sql(__file__, "select_sequenced_total.sql")
SELECT_PROJECTION_LAG_TOTAL = load_sql(__file__, "select_projection_lag_total.sql")
SELECT_PROJECTION_LAG_AGE = load_sql(__file__, "select_projection_lag_age.sql")
SELECT_COMMITMENT_LAG_AGE = load_sql(__file__, "select_commitment_lag_age.sql")
