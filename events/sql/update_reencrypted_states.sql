-- Replace the states of one re-encryption batch (same state, newest key). Guarded by the
-- version the batch read, so a state the projection changed meanwhile (sealed with the newest
-- key by then) is left alone. Readers are never blocked (MVCC): both forms open.
-- Index: entity_state primary key. Locks: the updated rows. Rows: none returned.
UPDATE entity_state s
SET state = NULL, state_sealed = decode(r.state_sealed, 'base64'), state_key_id = r.new_key_id
FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(
    store_id uuid, entity_type text, entity_id text, old_version bigint, state_sealed text, new_key_id smallint)
WHERE s.tenant_id = %(tenant_id)s
  AND s.store_id = r.store_id
  AND s.entity_type = r.entity_type
  AND s.entity_id = r.entity_id
  AND s.version = r.old_version
