-- Commitments of one tenant's legacy streams in order: ranges must tile 1..end exactly.
-- Index: commitments by stream. Locks: none. Rows: one per commitment.
SELECT store_id::text, sequence_start, sequence_end
FROM commitments
WHERE tenant_id = %(tenant_id)s AND stream_kind = 1
ORDER BY store_id, sequence_start
