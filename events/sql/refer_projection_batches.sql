-- The runner's read for entity_state (ADR 0049): on each of several streams, lock the checkpoint,
-- take the events after it (at most the stream's cap), write by reference (ADR 0036) every entity
-- of the range that has exactly one event in it and no row yet, and return the other events for
-- the handler to merge. The entities written are the common case (an order's, a session's first
-- event), and none of their columns travels to the worker and back.
-- A stream whose range has a hole (its count short of last - checkpoint) writes nothing and
-- returns every event of the range: the caller finds the hole and stalls it, as with
-- select_projection_batches.sql. The caller holds the streams' advisory locks, so no other
-- writer adds rows for these entities between the probe and the insert (the insert has no ON
-- CONFLICT: a row there after all fails the statement, and the caller applies the streams the
-- usual way); it wraps this and the merges in one savepoint, so a merge that fails rolls the
-- references back too.
-- No join between the CTEs: each stream's figures are window functions of its rows, so the
-- cost follows the events whatever the planner estimates for a CTE (one row: a join of two CTEs
-- became a nested loop over both, quadratic in the batch).
-- Index: projection_checkpoints primary key, one probe per stream; events primary key, one range
-- per stream in its order (as select_projection_batches.sql; without the ORDER BY a plan took
-- events_entity_idx by (tenant_id, store_id) and read the stream's whole index); entity_state primary key, one probe per entity
-- with one event in the range and one insert per row written; for each returned event one events
-- probe naming every column of every events index (as select_entity_states_for_update.sql: no
-- generic plan can widen it).
-- Locks: the checkpoint rows (FOR NO KEY UPDATE), the new entity_state rows.
-- Rows: for each stream with events in its range, the events left to merge (refer false), and
-- its last event as a row with refer true (event columns NULL) when that one was written; each row
-- carries the stream's position, checkpoint, count and last sequence number of the range. In
-- stream and sequence order.
WITH stream AS MATERIALIZED (
    SELECT s.position, s.tenant_id, s.store_id, s.cap, c.last_sequence AS checkpoint
    FROM unnest(%(tenant_ids)b::uuid[], %(store_ids)b::uuid[], %(caps)b::bigint[])
         WITH ORDINALITY AS s(tenant_id, store_id, cap, position)
    JOIN projection_checkpoints c
      ON c.projection = %(projection)s AND c.tenant_id = s.tenant_id AND c.store_id = s.store_id
    FOR NO KEY UPDATE OF c
), ranged AS MATERIALIZED (
    SELECT w.*,
           w.entity_events = 1
           AND w.stream_events = w.stream_last - w.checkpoint  -- no hole in the range
           AND NOT EXISTS (
               SELECT 1
               FROM entity_state s
               WHERE s.tenant_id = w.tenant_id
                 AND s.store_id = w.store_id
                 AND s.entity_type = w.entity_type
                 AND s.entity_id = w.entity_id
           ) AS refer
    FROM (
        SELECT st.position, st.checkpoint, st.tenant_id, st.store_id, e.sequence_number, e.event_id,
               e.entity_type, e.entity_id, e.event_type,
               count(*) OVER (PARTITION BY st.position, e.entity_type, e.entity_id) AS entity_events,
               count(*) OVER (PARTITION BY st.position) AS stream_events,
               max(e.sequence_number) OVER (PARTITION BY st.position) AS stream_last
        FROM stream st
        CROSS JOIN LATERAL (
            SELECT ev.sequence_number, ev.event_id, ev.entity_type, ev.entity_id, ev.event_type
            FROM events ev
            WHERE ev.tenant_id = st.tenant_id
              AND ev.store_id = st.store_id
              AND ev.sequence_number > st.checkpoint
              AND ev.sequence_number <= st.checkpoint + st.cap
            ORDER BY ev.sequence_number  -- the primary key's order: no plan takes events_entity_idx
        ) AS e
    ) AS w
), inserted AS (
    INSERT INTO entity_state (tenant_id, store_id, entity_type, entity_id, version, last_sequence,
                              last_event_id, last_event_type, state_event_sequence, updated_at)
    SELECT r.tenant_id, r.store_id, r.entity_type, r.entity_id, 1, r.sequence_number, r.event_id,
           r.event_type, r.sequence_number, now()
    FROM ranged r
    WHERE r.refer
)
SELECT r.position, r.checkpoint, r.stream_events, r.stream_last, r.refer,
       ev.sequence_number, ev.event_id, ev.entity_type, ev.entity_id, ev.event_type, ev.payload,
       ev.payload_format, ev.created_at, ev.sequenced_at
FROM ranged r
LEFT JOIN LATERAL (
    SELECT e.sequence_number, e.event_id, e.entity_type, e.entity_id, e.event_type, e.payload,
           e.payload_format, e.created_at, e.sequenced_at
    FROM events e
    WHERE NOT r.refer
      AND e.tenant_id = r.tenant_id
      AND e.store_id = r.store_id
      AND e.sequence_number = r.sequence_number
      AND e.entity_type = r.entity_type
      AND e.entity_id = r.entity_id
      AND e.event_id = r.event_id
    LIMIT 1
) AS ev ON true
WHERE NOT r.refer OR r.sequence_number = r.stream_last
ORDER BY r.position, r.sequence_number
