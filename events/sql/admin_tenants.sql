-- Admin: one summary row per tenant (all tenants when %(tenant_id)s is NULL), oldest first;
-- a store-scoped caller's figures cover its stores %(store_ids)s only (see `summaries`).
-- Composed after the CTEs `streams` and `summaries` (events/sql/__init__.py), which say what
-- each figure is and what they read. (created_at, tenant_id) never changes, so paging with
-- OFFSET %(offset)s neither skips nor repeats a tenant (a tenant created meanwhile comes last).
-- Locks: none. Rows: at most %(limit)s.
SELECT tenant_id, name, is_active, created_at, stores, agents, api_keys, active_api_keys,
       head_sequence, ves_head_sequence, active_stores_24h, max_projection_lag, last_key_at,
       last_activity_at
FROM summaries
ORDER BY created_at, tenant_id
OFFSET %(offset)s
LIMIT %(limit)s
