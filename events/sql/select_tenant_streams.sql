-- Every stream head of a tenant (all kinds) with its last write: the tenant page of the admin.
-- Index: sequence_counters primary key prefix (tenant_id). Locks: none. Rows: one per
-- (store, stream kind) of the tenant.
SELECT store_id, stream_kind, current_sequence, updated_at
FROM sequence_counters
WHERE tenant_id = %(tenant_id)s
ORDER BY store_id, stream_kind
