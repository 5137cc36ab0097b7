-- Events from_seq .. to_seq of a legacy stream, with the stream head for the contiguity check.
-- Index: events primary key (tenant_id, store_id, sequence_number), one partition.
-- Locks: none. Rows: at most to_seq - from_seq + 1 (<= 1000).
SELECT e.event_id, e.command_id, e.envelope_version, e.entity_type, e.entity_id, e.event_type,
       e.payload, e.payload_format, e.payload_hash, e.base_version, e.source_agent, e.signature,
       e.created_at, e.sequence_number, e.sequenced_at,
       (SELECT c.current_sequence FROM sequence_counters c
        WHERE c.tenant_id = %(tenant_id)s AND c.store_id = %(store_id)s AND c.stream_kind = 1) AS head
FROM events e
WHERE e.tenant_id = %(tenant_id)s
  AND e.store_id = %(store_id)s
  AND e.sequence_number BETWEEN %(from_seq)s AND %(to_seq)s
ORDER BY e.sequence_number
