-- VES events from_seq .. to_seq of a stream with their receipts, and the VES head for the
-- contiguity check.
-- Index: ves_events primary key (tenant_id, store_id, sequence_number), one partition.
-- Locks: none. Rows: at most to_seq - from_seq + 1 (<= 1000).
SELECT e.tenant_id, e.store_id, e.sequence_number, e.event_id, e.command_id, e.ves_version,
       e.source_agent_id, e.agent_key_id, e.entity_type, e.entity_id, e.event_type, e.created_at_str,
       e.payload_kind, e.payload, e.payload_encrypted, e.payload_plain_hash, e.payload_cipher_hash,
       e.event_signing_hash, e.agent_signature, e.base_version, e.sequenced_at, e.sequencer_id,
       e.receipt_hash, e.signature_alg, e.sequencer_signature, e.sequencer_key_version,
       (SELECT c.current_sequence FROM sequence_counters c
        WHERE c.tenant_id = %(tenant_id)s AND c.store_id = %(store_id)s AND c.stream_kind = 2) AS head
FROM ves_events e
WHERE e.tenant_id = %(tenant_id)s
  AND e.store_id = %(store_id)s
  AND e.sequence_number BETWEEN %(from_seq)s AND %(to_seq)s
ORDER BY e.sequence_number
