-- How many of a tenant's legacy events are not sealed with the newest key (progress total).
-- Index: scans the tenant's partition. Locks: none. Rows: one.
SELECT count(*)
FROM events e
WHERE e.tenant_id = %(tenant_id)s
  AND (e.payload_format = 0 OR e.payload_key_id IS DISTINCT FROM %(newest_key_id)s)
