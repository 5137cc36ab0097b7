-- The next batch of a tenant's rejected legacy event bodies that are plain or sealed with an
-- older key, after the keyset position rejection_id (reencrypt_payloads; resumable because
-- finished rows no longer match). Index: rejected_events primary key (tenant_id, rejection_id).
-- Locks: none. Rows: at most batch_size.
SELECT r.rejection_id, r.store_id, r.event_id, r.request_id, r.body, r.body_format, r.body_key_id
FROM rejected_events r
WHERE r.tenant_id = %(tenant_id)s
  AND r.rejection_id > %(after)s
  AND r.stream_kind = 1
  AND (r.body_format = 0 OR r.body_key_id IS DISTINCT FROM %(newest_key_id)s)
ORDER BY r.rejection_id
LIMIT %(batch_size)s
