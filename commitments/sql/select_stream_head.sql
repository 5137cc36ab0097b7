-- The head of one stream kind (0 when the stream was never written). Index: counter primary key.
-- Locks: none.
SELECT coalesce((SELECT current_sequence FROM sequence_counters
                 WHERE tenant_id = %(tenant_id)s AND store_id = %(store_id)s
                   AND stream_kind = %(stream_kind)s), 0)
