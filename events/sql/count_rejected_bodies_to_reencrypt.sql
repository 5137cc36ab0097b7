-- How many of a tenant's rejected legacy event bodies are plain or sealed with an older key
-- (progress total of reencrypt_payloads; VES bodies stay as received: events/rejected_bodies.py).
-- Index: rejected_events primary key prefix (tenant_id). Locks: none. Rows: one.
SELECT count(*)
FROM rejected_events r
WHERE r.tenant_id = %(tenant_id)s
  AND r.stream_kind = 1
  AND (r.body_format = 0 OR r.body_key_id IS DISTINCT FROM %(newest_key_id)s)
