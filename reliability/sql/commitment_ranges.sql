-- The chain commitments of one tenant's legacy streams in order: ranges must tile 1..end exactly
-- (on-request commitments, ADR 0020, may overlap them and are not part of it).
-- Index: commitments by stream. Locks: none. Rows: one per commitment.
SELECT store_id::text, sequence_start, sequence_end
FROM commitments
WHERE tenant_id = %(tenant_id)s AND stream_kind = 1 AND NOT on_request
ORDER BY store_id, sequence_start
