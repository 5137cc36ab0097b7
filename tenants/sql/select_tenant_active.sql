-- Whether a tenant is active (NULL: no such tenant). For credentials that name their tenant
-- without a key row (JWTs); cached per process (tenants.key_cache.tenant_active_cache).
-- Index: tenants primary key. Locks: none. Rows: 0 or 1.
SELECT is_active
FROM tenants
WHERE id = %(tenant_id)s
