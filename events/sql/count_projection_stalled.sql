-- Legacy streams on which a projection is stalled: the head is past the checkpoint, the first event it
-- has not applied was sequenced more than %(stall_seconds)s ago, and the checkpoint has not
-- moved for as long (a projection that is merely behind keeps moving its checkpoint; one that
-- was idle and sees a new event is not stalled until the event has waited that long).
-- Index: scans sequence_counters of the kind, probes the checkpoint and one event per lagging
-- stream by primary key. Locks: none. Rows: one.
SELECT count(*)
FROM sequence_counters c
LEFT JOIN projection_checkpoints p
  ON p.projection = %(projection)s AND p.tenant_id = c.tenant_id AND p.store_id = c.store_id
JOIN LATERAL (
    SELECT e.sequenced_at
    FROM events e
    WHERE e.tenant_id = c.tenant_id
      AND e.store_id = c.store_id
      AND e.sequence_number = coalesce(p.last_sequence, 0) + 1
) AS next_event ON true
WHERE c.stream_kind = %(stream_kind)s
  AND c.current_sequence > coalesce(p.last_sequence, 0)
  AND next_event.sequenced_at < statement_timestamp() - make_interval(secs => %(stall_seconds)s)
  AND (p.updated_at IS NULL OR p.updated_at < statement_timestamp() - make_interval(secs => %(stall_seconds)s))
