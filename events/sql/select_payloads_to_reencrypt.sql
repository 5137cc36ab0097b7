-- The next batch of a tenant's legacy events whose payload is not sealed with the newest key
-- (plaintext rows included), after the keyset position (store_id, sequence_number).
-- Used by the reencrypt_payloads command; resumable because finished rows no longer match.
-- Index: events primary key (tenant_id, store_id, sequence_number), one partition. Locks: none.
-- Rows: at most batch_size.
SELECT e.store_id, e.sequence_number, e.event_id, e.entity_type, e.entity_id, e.event_type,
       e.payload, e.payload_format, e.payload_key_id
FROM events e
WHERE e.tenant_id = %(tenant_id)s
  AND (e.store_id, e.sequence_number) > (%(after_store)s, %(after_sequence)s)
  AND (e.payload_format = 0 OR e.payload_key_id IS DISTINCT FROM %(newest_key_id)s)
ORDER BY e.store_id, e.sequence_number
LIMIT %(batch_size)s
