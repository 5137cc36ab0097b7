"""SQL statements of the schemas app, loaded once at import."""

from sequencer_project.db.sql import load_sql

SELECT_ACTIVE_SCHEMAS = load_sql(__file__, "select_active_schemas.sql")
SELECT_TENANT_MODE = load_sql(__file__, "select_tenant_mode.sql")
