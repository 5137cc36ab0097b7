"""SQL statements of the tenants app, loaded once at import."""

from sequencer_project.db.sql import load_sql

SELECT_API_KEY = load_sql(__file__, "select_api_key.sql")
TOUCH_API_KEY = load_sql(__file__, "touch_api_key.sql")
SELECT_AGENT_KEYS = load_sql(__file__, "select_agent_keys.sql")
LOCK_AGENT_KEYS = load_sql(__file__, "lock_agent_keys.sql")
SELECT_TENANT_ACTIVE = load_sql(__file__, "select_tenant_active.sql")
