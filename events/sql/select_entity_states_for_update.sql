-- The projected states of a batch's entities, locked for the handler's read-merge-write.
-- Index: entity_state primary key, one probe per distinct entity of the batch.
-- Locks: the rows (FOR NO KEY UPDATE). Rows: at most one per entity.
SELECT s.entity_type, s.entity_id, s.state
FROM unnest(%(entity_types)s::text[], %(entity_ids)s::text[]) AS k(entity_type, entity_id)
JOIN entity_state s
  ON s.tenant_id = %(tenant_id)s AND s.store_id = %(store_id)s
 AND s.entity_type = k.entity_type AND s.entity_id = k.entity_id
FOR NO KEY UPDATE OF s
