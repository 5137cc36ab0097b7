-- A page of one entity's history (offset paging, as the reference) with the entity's total.
-- Always returns at least one row: the total, with NULL event columns when the page is empty.
-- The total is the entity's legacy entity_versions.version (stream_kind LEGACY, the only kind
-- `events` holds): append_batch.sql and append_streams.sql raise it by the entity's events in the
-- statement that inserts them, so it is their count, read in this statement's snapshot by one
-- probe instead of counting them all (0 without a row: versions are > 0).
-- `from` is an offset into the entity's events, not a sequence number, so where the page starts
-- cannot be found by key: the sequence number at that position is looked up first, an index-only
-- scan of events_entity_idx that reads sequence numbers only, from the nearer end (the total is
-- known): min(from, total - from) entries. The page is then read by keyset from it, the only rows
-- read whole. A `from` at or past a known total reads no event; an entity without a version row
-- is read forward (one probe when it has no events; a row ingest did not write, such as one
-- whose entity was altered at rest, is still read and its payload checked).
-- Index: entity_versions primary key (one probe); events_entity_idx (tenant_id, store_id,
-- entity_type, entity_id, sequence_number), one partition. Locks: none.
-- Rows: max(1, page size) (<= 100).
WITH t AS MATERIALIZED (  -- materialized, as f: each is computed once, not inlined per use
    SELECT coalesce((
        SELECT v.version
        FROM entity_versions v
        WHERE v.tenant_id = %(tenant_id)s
          AND v.store_id = %(store_id)s
          AND v.stream_kind = %(stream_kind)s
          AND v.entity_type = %(entity_type)s
          AND v.entity_id = %(entity_id)s
    ), 0) AS total
), f AS MATERIALIZED (
    SELECT t.total, CASE
        WHEN %(offset)s::bigint >= t.total AND t.total > 0 THEN NULL
        WHEN %(offset)s::bigint < t.total - %(offset)s::bigint OR t.total = 0 THEN (
            SELECT s.sequence_number
            FROM events s
            WHERE s.tenant_id = %(tenant_id)s
              AND s.store_id = %(store_id)s
              AND s.entity_type = %(entity_type)s
              AND s.entity_id = %(entity_id)s
            ORDER BY s.sequence_number
            OFFSET %(offset)s::bigint
            LIMIT 1
        )
        ELSE (
            SELECT s.sequence_number
            FROM events s
            WHERE s.tenant_id = %(tenant_id)s
              AND s.store_id = %(store_id)s
              AND s.entity_type = %(entity_type)s
              AND s.entity_id = %(entity_id)s
            ORDER BY s.sequence_number DESC
            OFFSET t.total - 1 - %(offset)s::bigint
            LIMIT 1
        )
    END AS first_sequence
    FROM t
)
SELECT f.total, p.*
FROM f
LEFT JOIN LATERAL (
    SELECT e.event_id, e.command_id, e.envelope_version, e.entity_type, e.entity_id, e.event_type,
           e.payload, e.payload_format, e.payload_hash, e.base_version, e.source_agent, e.signature,
           e.created_at, e.sequence_number, e.sequenced_at
    FROM events e
    WHERE f.first_sequence IS NOT NULL
      AND e.tenant_id = %(tenant_id)s
      AND e.store_id = %(store_id)s
      AND e.entity_type = %(entity_type)s
      AND e.entity_id = %(entity_id)s
      AND e.sequence_number >= f.first_sequence
    ORDER BY e.sequence_number
    LIMIT %(limit)s
) AS p ON true
