-- Admin: one summary row per tenant (all tenants when %(tenant_id)s is NULL), oldest first;
-- a store-scoped caller's figures cover its stores %(store_ids)s only (see `summaries`).
-- Composed after the CTEs `streams` and `summaries` (events/sql/__init__.py), which say what
-- each figure is and what they read. Locks: none. Rows: at most %(limit)s.
SELECT tenant_id, name, is_active, created_at, stores, agents, api_keys, active_api_keys,
       head_sequence, ves_head_sequence, active_stores_24h, max_projection_lag, last_key_at,
       last_activity_at
FROM summaries
ORDER BY created_at, tenant_id
LIMIT %(limit)s
