-- The rows of a batch's new entities by reference to their one event (ADR 0036): version 1,
-- last_sequence and state_event_sequence both that event, no state of its own. An entity whose
-- row exists already is left alone and named in the result, so the caller merges its event.
-- One element per candidate entity (an entity with one event in the batch); the caller holds the
-- streams' advisory locks, so no other writer adds rows for these entities meanwhile.
-- Index: entity_state primary key, one insert (or conflict) per candidate. Locks: the new rows.
-- Rows: the 1-based positions of the candidates that already had a row (none, usually).
WITH candidate AS (
    SELECT *
    FROM unnest(%(tenant_ids)b::uuid[], %(store_ids)b::uuid[], %(entity_types)b::text[],
                %(entity_ids)b::text[], %(sequence_numbers)b::bigint[], %(event_ids)b::uuid[],
                %(event_types)b::text[])
         WITH ORDINALITY AS c(tenant_id, store_id, entity_type, entity_id, sequence_number, event_id,
                              event_type, position)
), inserted AS (
    INSERT INTO entity_state (tenant_id, store_id, entity_type, entity_id, version, last_sequence,
                              last_event_id, last_event_type, state_event_sequence, updated_at)
    SELECT c.tenant_id, c.store_id, c.entity_type, c.entity_id, 1, c.sequence_number, c.event_id,
           c.event_type, c.sequence_number, now()
    FROM candidate c
    ON CONFLICT (tenant_id, store_id, entity_type, entity_id) DO NOTHING
    RETURNING tenant_id, store_id, last_sequence
)
SELECT c.position
FROM candidate c
WHERE NOT EXISTS (
    SELECT 1 FROM inserted i
    WHERE i.tenant_id = c.tenant_id AND i.store_id = c.store_id AND i.last_sequence = c.sequence_number
)
