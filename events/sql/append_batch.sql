-- Write a classified batch of one legacy stream in one statement: advance the counter from the
-- head the rows were numbered from (compare-and-set), insert the events, bump entity versions,
-- reserve command ids, and log the rejections (each row names the request it came from: with
-- group commit one statement writes several requests' events). Two callers
-- (events/services/ingest.py):
--   * the locked path holds the counter row (lock_counter.sql) and classified against
--     classify_batch.sql, so the head always matches; an event id another store of the tenant
--     inserted meanwhile fails the statement (unique violation) and the transaction is retried;
--   * the optimistic append runs it alone (autocommit) from the head the process last saw,
--     having classified against nothing stored: a wrong head writes nothing and returns the
--     head this statement saw; a stored event or command id fails it (no ON CONFLICT here), and
--     the locked path then classifies the batch (replay, duplicate). No base_version then.
-- Inserts are conditioned on the counter move, so nothing is written from a wrong head; the
-- rejection log also when nothing is appended (new_head = expected_head: locked path only).
-- The rows arrive as one jsonb array (no per-row parameters) and their payloads as one binary
-- bytea[] in the same order (a payload's base64 text cost PostgreSQL's JSON parse ~5 us per KB),
-- already sealed when encrypted at rest (payload_format 1, payload_key_id; events/payload_crypto.py).
-- Index: sequence_counters primary key; events primary key and events_tenant_event_id_key (one
-- partition); primary keys of entity_versions and command_dedupe.
-- Locks: the counter row and the inserted/updated rows.
-- Rows: one: counter_rows (1 = appended), inserted, commands, versions, rejections, seen_head.
WITH batch AS (
    SELECT *
    FROM ROWS FROM (jsonb_to_recordset(%(rows)s::jsonb) AS (
        sequence_number bigint, event_id uuid, command_id uuid, envelope_version integer,
        entity_type text, entity_id text, event_type text, payload_hash text,
        envelope_hash text, base_version bigint, source_agent uuid, signature text,
        created_at timestamptz, payload_format smallint, payload_key_id smallint)) WITH ORDINALITY AS r
    JOIN unnest(%(payloads)b::bytea[]) WITH ORDINALITY AS p(payload, ordinality) USING (ordinality)
), counter AS (
    UPDATE sequence_counters
    SET current_sequence = %(new_head)s, updated_at = now()
    WHERE tenant_id = %(tenant_id)s
      AND store_id = %(store_id)s
      AND stream_kind = %(stream_kind)s
      AND current_sequence = %(expected_head)s
      AND %(new_head)s > %(expected_head)s
    RETURNING 1
), inserted AS (
    INSERT INTO events (
        tenant_id, store_id, sequence_number, event_id, command_id, envelope_version,
        entity_type, entity_id, event_type, payload, payload_format, payload_key_id, payload_hash,
        envelope_hash, base_version, source_agent, signature, created_at)
    SELECT %(tenant_id)s, %(store_id)s, b.sequence_number, b.event_id, b.command_id,
           b.envelope_version, b.entity_type, b.entity_id, b.event_type,
           b.payload, b.payload_format, b.payload_key_id, decode(b.payload_hash, 'hex'),
           decode(b.envelope_hash, 'hex'), b.base_version, b.source_agent,
           decode(b.signature, 'hex'), b.created_at
    FROM batch b
    WHERE EXISTS (SELECT 1 FROM counter)
    RETURNING 1
), versions AS (
    INSERT INTO entity_versions (
        tenant_id, store_id, stream_kind, entity_type, entity_id, version, last_sequence, updated_at)
    SELECT %(tenant_id)s, %(store_id)s, %(stream_kind)s, b.entity_type, b.entity_id, count(*),
           max(b.sequence_number), now()
    FROM batch b
    WHERE EXISTS (SELECT 1 FROM counter)
    GROUP BY b.entity_type, b.entity_id
    ON CONFLICT (tenant_id, store_id, stream_kind, entity_type, entity_id) DO UPDATE
    SET version = entity_versions.version + EXCLUDED.version,
        last_sequence = EXCLUDED.last_sequence,
        updated_at = EXCLUDED.updated_at
    RETURNING 1
), commands AS (
    INSERT INTO command_dedupe (tenant_id, store_id, stream_kind, command_id, event_id, created_at)
    SELECT %(tenant_id)s, %(store_id)s, %(stream_kind)s, b.command_id, b.event_id, now()
    FROM batch b
    WHERE b.command_id IS NOT NULL AND EXISTS (SELECT 1 FROM counter)
    RETURNING 1
), rejections AS (
    INSERT INTO rejected_events (tenant_id, store_id, stream_kind, event_id, reason, message, body,
                                 body_format, body_key_id, entity_type, entity_id, request_id)
    SELECT %(tenant_id)s, %(store_id)s, %(stream_kind)s, x.event_id, x.reason, x.message,
           decode(x.body, 'base64'), x.body_format, x.body_key_id, x.entity_type, x.entity_id,
           x.request_id
    FROM jsonb_to_recordset(%(rejections)s::jsonb) AS x(
        event_id uuid, reason text, message text, body text, body_format smallint,
        body_key_id smallint, entity_type text, entity_id text, request_id text)
    WHERE EXISTS (SELECT 1 FROM counter) OR %(new_head)s = %(expected_head)s
    RETURNING 1
)
SELECT (SELECT count(*) FROM counter) AS counter_rows,
       (SELECT count(*) FROM inserted) AS inserted_rows,
       (SELECT count(*) FROM commands) AS command_rows,
       (SELECT count(*) FROM versions) AS version_rows,
       (SELECT count(*) FROM rejections) AS rejection_rows,
       (SELECT c.current_sequence FROM sequence_counters c
        WHERE c.tenant_id = %(tenant_id)s AND c.store_id = %(store_id)s
          AND c.stream_kind = %(stream_kind)s) AS seen_head
