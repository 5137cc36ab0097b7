-- One stream's checkpoint at tree_size, or the latest when tree_size is NULL.
-- Index: log_checkpoints_pkey (backwards for the latest). Locks: none.
SELECT tree_size, root_hash, note, batch_id, created_at
FROM log_checkpoints
WHERE tenant_id = %(tenant_id)s AND store_id = %(store_id)s AND stream_kind = %(stream_kind)s
  AND (%(tree_size)s::bigint IS NULL OR tree_size = %(tree_size)s::bigint)
ORDER BY tree_size DESC
LIMIT 1
