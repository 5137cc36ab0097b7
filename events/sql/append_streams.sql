-- Append classified batches of SEVERAL legacy streams in one autocommit statement (group commit
-- across streams, ADR 0025): the concurrent requests of one web process share one statement and
-- one commit whatever their streams. Each stream moves only from the head its rows were numbered
-- from (compare-and-set, as append_batch.sql's optimistic use); a stream whose head moved writes
-- nothing and reports the head this statement saw, while the other streams of the group are
-- appended. A stored event or command id fails the whole statement (no ON CONFLICT here): the
-- caller then runs each stream on its own path, which classifies replays and duplicates.
-- No base_version here (classification would depend on stored versions).
-- Streams arrive as four arrays (tenant_ids, store_ids, expected_heads, new_heads); rows and
-- rejections (jsonb arrays) carry their stream's tenant_id and store_id; the rows' payloads come as
-- one binary bytea[] in the rows' order (as append_batch.sql's), already sealed when encrypted at
-- rest (events/payload_crypto.py).
-- Index: sequence_counters primary key; events primary key and events_tenant_event_id_key;
-- primary keys of entity_versions and command_dedupe.
-- Locks: the streams' counter rows, taken in the order of the arrays, which the caller sorts by
-- (tenant_id, store_id) so two such statements cannot deadlock; then the inserted and updated rows.
-- Rows: one per stream that has a counter row: position (the stream's 1-based index in the
-- arrays), appended, seen_head (the head before this statement).
WITH streams AS (
    SELECT *
    FROM unnest(%(tenant_ids)b::uuid[], %(store_ids)b::uuid[], %(expected_heads)b::bigint[],
                %(new_heads)b::bigint[]) WITH ORDINALITY AS s(tenant_id, store_id, expected_head, new_head, position)
), locked AS (
    -- One primary-key probe per stream, in the arrays' order (the caller sorts them).
    SELECT s.position, c.tenant_id, c.store_id, c.current_sequence
    FROM streams s
    CROSS JOIN LATERAL (
        SELECT k.tenant_id, k.store_id, k.current_sequence
        FROM sequence_counters k
        WHERE k.tenant_id = s.tenant_id AND k.store_id = s.store_id AND k.stream_kind = %(stream_kind)s
        FOR UPDATE
    ) c
), counter AS (
    UPDATE sequence_counters c
    SET current_sequence = s.new_head, updated_at = now()
    FROM streams s
    JOIN locked l ON l.tenant_id = s.tenant_id AND l.store_id = s.store_id
    WHERE c.tenant_id = s.tenant_id
      AND c.store_id = s.store_id
      AND c.stream_kind = %(stream_kind)s
      AND c.current_sequence = s.expected_head
      AND s.new_head > s.expected_head
    RETURNING c.tenant_id, c.store_id
), batch AS (
    SELECT r.*, p.payload
    FROM ROWS FROM (jsonb_to_recordset(%(rows)s::jsonb) AS (
        tenant_id uuid, store_id uuid, sequence_number bigint, event_id uuid, command_id uuid,
        envelope_version integer, entity_type text, entity_id text, event_type text,
        payload_hash text, envelope_hash text, source_agent uuid, signature text,
        created_at timestamptz, payload_format smallint, payload_key_id smallint)) WITH ORDINALITY AS r
    JOIN unnest(%(payloads)b::bytea[]) WITH ORDINALITY AS p(payload, ordinality) USING (ordinality)
    JOIN counter c ON c.tenant_id = r.tenant_id AND c.store_id = r.store_id
), inserted AS (
    INSERT INTO events (
        tenant_id, store_id, sequence_number, event_id, command_id, envelope_version,
        entity_type, entity_id, event_type, payload, payload_format, payload_key_id, payload_hash,
        envelope_hash, base_version, source_agent, signature, created_at)
    SELECT b.tenant_id, b.store_id, b.sequence_number, b.event_id, b.command_id,
           b.envelope_version, b.entity_type, b.entity_id, b.event_type,
           b.payload, b.payload_format, b.payload_key_id, decode(b.payload_hash, 'hex'),
           decode(b.envelope_hash, 'hex'), NULL, b.source_agent,
           decode(b.signature, 'hex'), b.created_at
    FROM batch b
    RETURNING 1
), versions AS (
    INSERT INTO entity_versions (
        tenant_id, store_id, stream_kind, entity_type, entity_id, version, last_sequence, updated_at)
    SELECT b.tenant_id, b.store_id, %(stream_kind)s, b.entity_type, b.entity_id, count(*),
           max(b.sequence_number), now()
    FROM batch b
    GROUP BY b.tenant_id, b.store_id, b.entity_type, b.entity_id
    ON CONFLICT (tenant_id, store_id, stream_kind, entity_type, entity_id) DO UPDATE
    SET version = entity_versions.version + EXCLUDED.version,
        last_sequence = EXCLUDED.last_sequence,
        updated_at = EXCLUDED.updated_at
    RETURNING 1
), commands AS (
    INSERT INTO command_dedupe (tenant_id, store_id, stream_kind, command_id, event_id, created_at)
    SELECT b.tenant_id, b.store_id, %(stream_kind)s, b.command_id, b.event_id, now()
    FROM batch b
    WHERE b.command_id IS NOT NULL
    RETURNING 1
), rejections AS (
    INSERT INTO rejected_events (tenant_id, store_id, stream_kind, event_id, reason, message, body,
                                 body_format, body_key_id, entity_type, entity_id, request_id)
    SELECT x.tenant_id, x.store_id, %(stream_kind)s, x.event_id, x.reason, x.message,
           decode(x.body, 'base64'), x.body_format, x.body_key_id, x.entity_type, x.entity_id,
           x.request_id
    FROM jsonb_to_recordset(%(rejections)s::jsonb) AS x(
        tenant_id uuid, store_id uuid, event_id uuid, reason text, message text, body text, body_format smallint,
        body_key_id smallint, entity_type text, entity_id text, request_id text)
    JOIN counter c ON c.tenant_id = x.tenant_id AND c.store_id = x.store_id
    RETURNING 1
)
SELECT l.position,
       EXISTS (SELECT 1 FROM counter c WHERE c.tenant_id = l.tenant_id AND c.store_id = l.store_id) AS appended,
       l.current_sequence AS seen_head
FROM locked l
