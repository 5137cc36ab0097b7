-- Replace payloads of one re-encryption batch (same plaintext, newest key). Guarded by the
-- format and key id the batch read, so a row changed meanwhile is left for the next pass.
-- Readers are never blocked (MVCC): they see the old or the new blob, both decryptable.
-- Index: events primary key, one partition. Locks: the updated rows. Rows: none returned.
UPDATE events e
SET payload = decode(r.payload, 'base64'), payload_format = 1, payload_key_id = r.new_key_id
FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(
    store_id uuid, sequence_number bigint, payload text, old_format smallint, old_key_id smallint,
    new_key_id smallint)
WHERE e.tenant_id = %(tenant_id)s
  AND e.store_id = r.store_id
  AND e.sequence_number = r.sequence_number
  AND e.payload_format = r.old_format
  AND e.payload_key_id IS NOT DISTINCT FROM r.old_key_id
