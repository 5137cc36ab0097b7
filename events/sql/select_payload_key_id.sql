-- The payload key id a legacy event row records (NULL: plaintext, or sealed before key ids were
-- recorded); no row when the event does not exist. Read on the failure path of a payload open only.
-- Index: events_pkey (tenant_id, store_id, sequence_number). Locks: none. Rows: at most one.
SELECT payload_key_id
FROM events
WHERE tenant_id = %(tenant_id)s AND store_id = %(store_id)s AND sequence_number = %(sequence_number)s
