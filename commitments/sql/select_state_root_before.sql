-- The state root an on-request commitment starting at sequence_start follows: the new_state_root
-- of a commitment of the stream ending at sequence_start - 1: the chain's first, else the requested
-- one that starts lowest (one per exact range, so the choice never depends on timing; NULL when
-- none ends there: the caller uses 32 zero bytes).
-- Index: commitments_stream_end_idx. Locks: none (caller holds the COMMITMENT_STREAM lock).
SELECT new_state_root
FROM commitments
WHERE tenant_id = %(tenant_id)s AND store_id = %(store_id)s AND stream_kind = %(stream_kind)s
  AND sequence_end = %(sequence_start)s - 1
ORDER BY on_request, sequence_start
LIMIT 1
