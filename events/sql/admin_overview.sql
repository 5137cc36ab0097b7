-- Admin overview: the totals of the tenant summaries in scope (every tenant when %(tenant_id)s
-- is NULL, else one; only the stores %(store_ids)s when not NULL, as `summaries` says).
-- Composed after the CTEs `streams` and `summaries`
-- (events/sql/__init__.py); an agent belongs to one tenant, so per-tenant counts add up.
-- Locks: none. Rows: one.
SELECT
    count(*) AS tenants,
    coalesce(sum(stores), 0)::bigint AS stores,
    coalesce(sum(agents), 0)::bigint AS agents,
    coalesce(sum(api_keys), 0)::bigint AS api_keys,
    coalesce(sum(active_api_keys), 0)::bigint AS active_api_keys,
    coalesce(sum(head_sequence), 0)::bigint AS total_head_sequence,
    coalesce(sum(ves_head_sequence), 0)::bigint AS total_ves_head_sequence,
    coalesce(sum(active_stores_24h), 0)::bigint AS active_stores_24h,
    coalesce(max(max_projection_lag), 0)::bigint AS max_projection_lag,
    max(last_activity_at) AS last_activity_at
FROM summaries
