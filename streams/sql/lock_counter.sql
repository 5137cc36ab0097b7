-- Lock a stream's counter row and read its head. Every writer of the stream queues here, so
-- everything the ingest transaction reads afterwards is consistent with the head it returns.
-- Index: sequence_counters primary key. Locks: the counter row FOR UPDATE until commit.
-- Rows: 0 (stream never written; run create_stream.sql and retry) or 1.
SELECT current_sequence
FROM sequence_counters
WHERE tenant_id = %(tenant_id)s
  AND store_id = %(store_id)s
  AND stream_kind = %(stream_kind)s
FOR UPDATE
