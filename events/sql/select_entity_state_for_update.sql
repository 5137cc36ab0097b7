-- The projected state of one entity, locked for the handler's read-merge-write.
-- Index: entity_state primary key. Locks: the row (FOR NO KEY UPDATE). Rows: zero or one.
SELECT version, last_sequence, state
FROM entity_state
WHERE tenant_id = %(tenant_id)s AND store_id = %(store_id)s
  AND entity_type = %(entity_type)s AND entity_id = %(entity_id)s
FOR NO KEY UPDATE
