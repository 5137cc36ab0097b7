-- One VES event with its receipt, by id within a tenant.
-- Index: ves_events_tenant_event_id_key, pruned to one partition by tenant_id. Locks: none. Rows: 0 or 1.
SELECT e.tenant_id, e.store_id, e.sequence_number, e.event_id, e.command_id, e.ves_version,
       e.source_agent_id, e.agent_key_id, e.entity_type, e.entity_id, e.event_type, e.created_at_str,
       e.payload_kind, e.payload, e.payload_encrypted, e.payload_plain_hash, e.payload_cipher_hash,
       e.event_signing_hash, e.agent_signature, e.base_version, e.sequenced_at, e.sequencer_id,
       e.receipt_hash, e.signature_alg, e.sequencer_signature, e.sequencer_key_version,
       NULL::bigint AS head
FROM ves_events e
WHERE e.tenant_id = %(tenant_id)s
  AND e.event_id = %(event_id)s
