-- The next batch of a tenant's projected entity states not sealed with the newest payload key
-- (plain states included; states by reference hold nothing to seal, ADR 0036), after the
-- keyset position (store_id, entity_type, entity_id).
-- Used by the reencrypt_payloads command; resumable because finished rows no longer match.
-- Index: entity_state primary key (tenant_id, store_id, entity_type, entity_id). Locks: none.
-- Rows: at most batch_size.
SELECT s.store_id, s.entity_type, s.entity_id, s.version, s.state, s.state_sealed, s.state_key_id
FROM entity_state s
WHERE s.tenant_id = %(tenant_id)s
  AND (s.store_id, s.entity_type, s.entity_id) > (%(after_store)s, %(after_type)s, %(after_id)s)
  AND s.state_key_id IS DISTINCT FROM %(newest_key_id)s
  AND s.state_event_sequence IS NULL  -- by reference: re-encrypting the payload covers it
ORDER BY s.store_id, s.entity_type, s.entity_id
LIMIT %(batch_size)s
