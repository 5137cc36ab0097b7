-- The head of a stream kind (0 when the stream was never written).
-- Index: sequence_counters primary key. Locks: none. Rows: one.
SELECT coalesce(
    (SELECT current_sequence
     FROM sequence_counters
     WHERE tenant_id = %(tenant_id)s AND store_id = %(store_id)s AND stream_kind = %(stream_kind)s),
    0) AS head
