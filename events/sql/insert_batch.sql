-- Write an accepted batch in one statement (caller holds the counter lock taken by
-- lock_counter.sql and has numbered the rows head+1 .. head+n in request order):
--   advance the counter (guarded by the head the caller read), insert the events, bump
--   entity versions, reserve command ids, and log the rejections (each row names the request
--   it came from: with group commit one statement writes several requests' events).
-- The rows arrive as one jsonb array (no per-row parameters); payloads travel base64-encoded,
-- already sealed when encrypted at rest (payload_format 1, payload_key_id; events/payload_crypto.py).
-- Index: events primary key and events_tenant_event_id_key (one partition), primary keys of
-- the other tables. Locks: the counter row (already held), inserted/updated rows.
-- Rows: one, with the counts the caller checks (counter=1 when n>0, inserted=n, commands=c).
WITH batch AS (
    SELECT *
    FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(
        sequence_number bigint, event_id uuid, command_id uuid, envelope_version integer,
        entity_type text, entity_id text, event_type text, payload text, payload_hash text,
        envelope_hash text, base_version bigint, source_agent uuid, signature text,
        created_at timestamptz, payload_format smallint, payload_key_id smallint)
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
           decode(b.payload, 'base64'), b.payload_format, b.payload_key_id, decode(b.payload_hash, 'hex'),
           decode(b.envelope_hash, 'hex'), b.base_version, b.source_agent,
           decode(b.signature, 'hex'), b.created_at
    FROM batch b
    ON CONFLICT (tenant_id, event_id) DO NOTHING
    RETURNING 1
), versions AS (
    INSERT INTO entity_versions (
        tenant_id, store_id, stream_kind, entity_type, entity_id, version, last_sequence, updated_at)
    SELECT %(tenant_id)s, %(store_id)s, %(stream_kind)s, b.entity_type, b.entity_id, count(*),
           max(b.sequence_number), now()
    FROM batch b
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
    WHERE b.command_id IS NOT NULL
    ON CONFLICT DO NOTHING
    RETURNING 1
), rejections AS (
    INSERT INTO rejected_events (tenant_id, store_id, stream_kind, event_id, reason, message, body, request_id)
    SELECT %(tenant_id)s, %(store_id)s, %(stream_kind)s, x.event_id, x.reason, x.message,
           decode(x.body, 'base64'), x.request_id
    FROM jsonb_to_recordset(%(rejections)s::jsonb) AS x(
        event_id uuid, reason text, message text, body text, request_id text)
    RETURNING 1
)
SELECT (SELECT count(*) FROM counter) AS counter_rows,
       (SELECT count(*) FROM inserted) AS inserted_rows,
       (SELECT count(*) FROM commands) AS command_rows,
       (SELECT count(*) FROM versions) AS version_rows,
       (SELECT count(*) FROM rejections) AS rejection_rows
