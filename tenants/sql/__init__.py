"""SQL statements of the tenants app, loaded once at import."""

from sequencer_project.db.sql import load_sql

SELECT_API_KEY = load_sql(__file__, "select_api_key.sql")
TOUCH_API_KEY = load_sql(__file__, "touch_api_key.sql")
SELECT_AGENT_KEYS = load_sql(__file__, "select_agent_keys.sql")

# Admin JSON (docs/auth.md): counters and summaries only, never the event tables. Each statement
# is its own file preceded by the CTE fragments it reads, composed here once: `streams` (heads
# and projection positions) and `summaries` (per-tenant figures), so the figures are defined in
# one place for the overview, the tenant list and the store list.
_STREAMS = load_sql(__file__, "admin_streams.sql")
_SUMMARIES = load_sql(__file__, "admin_tenant_summaries.sql")


def _with(body: str, *, summaries: bool) -> str:
    ctes = f"streams AS (\n{_STREAMS}\n)"
    if summaries:
        ctes += f", summaries AS (\n{_SUMMARIES}\n)"
    return f"WITH {ctes}\n{body}"


ADMIN_OVERVIEW = _with(load_sql(__file__, "admin_overview.sql"), summaries=True)
ADMIN_TENANTS = _with(load_sql(__file__, "admin_tenants.sql"), summaries=True)
ADMIN_STORES = _with(load_sql(__file__, "admin_stores.sql"), summaries=False)
ADMIN_AGENTS = load_sql(__file__, "admin_agents.sql")
