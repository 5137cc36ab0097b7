-- How many of a tenant's projected entity states are not sealed with the newest payload key
-- (plain states included; states by reference hold nothing to seal, ADR 0036): progress total
-- of reencrypt_payloads, events/projections/state_crypto.py.
-- Index: scans the tenant's entity_state rows (primary key prefix). Locks: none. Rows: one.
SELECT count(*)
FROM entity_state s
WHERE s.tenant_id = %(tenant_id)s
  AND s.state_key_id IS DISTINCT FROM %(newest_key_id)s
  AND s.state_event_sequence IS NULL  -- by reference: re-encrypting the payload covers it
