-- Drop the projected entity states of one stream (rebuild from scratch).
-- Index: entity_state primary key prefix (tenant_id, store_id). Locks: deleted rows.
-- Rows: none returned.
DELETE FROM entity_state WHERE tenant_id = %(tenant_id)s AND store_id = %(store_id)s
