-- Replace the bodies of one re-encryption batch (same body, newest key). Guarded by the format
-- and key id the batch read. Index: rejected_events primary key. Locks: the updated rows.
-- Rows: none returned.
UPDATE rejected_events r
SET body = decode(x.body, 'base64'), body_format = 1, body_key_id = x.new_key_id
FROM jsonb_to_recordset(%(rows)s::jsonb) AS x(
    rejection_id bigint, body text, old_format smallint, old_key_id smallint, new_key_id smallint)
WHERE r.tenant_id = %(tenant_id)s
  AND r.rejection_id = x.rejection_id
  AND r.body_format = x.old_format
  AND r.body_key_id IS NOT DISTINCT FROM x.old_key_id
