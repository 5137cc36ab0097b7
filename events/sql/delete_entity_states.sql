-- Delete the rows of some entities (one array element per entity): those whose state referred to
-- a payload altered at rest, which the projection refolds from nothing (ADR 0049).
-- Index: entity_state primary key, one probe per entity. Locks: the rows (already held:
-- select_entity_states_for_update.sql). Rows: none returned.
DELETE FROM entity_state e
USING unnest(%(tenant_ids)b::uuid[], %(store_ids)b::uuid[], %(entity_types)b::text[], %(entity_ids)b::text[])
      AS k(tenant_id, store_id, entity_type, entity_id)
WHERE e.tenant_id = k.tenant_id
  AND e.store_id = k.store_id
  AND e.entity_type = k.entity_type
  AND e.entity_id = k.entity_id
