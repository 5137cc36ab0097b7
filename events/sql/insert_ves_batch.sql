-- Write an accepted VES batch in one statement (caller holds the VES counter lock taken by
-- lock_counter.sql and has numbered the rows head+1 .. head+n and computed their receipts):
--   advance the counter (guarded by the head the caller read), insert the events with their
--   receipts, bump VES entity versions, reserve command ids, and log this request's rejections.
-- Rows arrive as one jsonb array, binary values as hex; their plaintext payloads as one binary
-- bytea[] in the same order (NULL for encrypted events): a payload's base64 text inside the rows
-- cost PostgreSQL's JSON parse ~5 us per KB (append_batch.sql does the same).
-- Index: ves_events primary key and ves_events_tenant_event_id_key (one partition), primary
-- keys of the other tables. Locks: the counter row (already held), inserted/updated rows.
-- Rows: one, with the counts the caller checks (counter=1 when n>0, inserted=n, commands=c).
WITH batch AS (
    SELECT *
    FROM ROWS FROM (jsonb_to_recordset(%(rows)s::jsonb) AS (
        sequence_number bigint, event_id uuid, command_id uuid, ves_version integer,
        source_agent_id uuid, agent_key_id bigint, entity_type text, entity_id text, event_type text,
        created_at timestamptz, created_at_str text, payload_kind smallint,
        payload_encrypted jsonb, payload_plain_hash text, payload_cipher_hash text,
        event_signing_hash text, agent_signature text, base_version bigint, envelope_hash text,
        sequenced_at timestamptz, sequencer_id uuid, receipt_hash text, signature_alg text,
        sequencer_signature text, sequencer_key_version integer)) WITH ORDINALITY AS r
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
    INSERT INTO ves_events (
        tenant_id, store_id, sequence_number, event_id, command_id, ves_version, source_agent_id,
        agent_key_id, entity_type, entity_id, event_type, created_at, created_at_str, payload_kind,
        payload, payload_encrypted, payload_plain_hash, payload_cipher_hash, event_signing_hash,
        agent_signature, base_version, envelope_hash, sequenced_at, sequencer_id, receipt_hash,
        signature_alg, sequencer_signature, sequencer_key_version)
    SELECT %(tenant_id)s, %(store_id)s, b.sequence_number, b.event_id, b.command_id, b.ves_version,
           b.source_agent_id, b.agent_key_id, b.entity_type, b.entity_id, b.event_type, b.created_at,
           b.created_at_str, b.payload_kind, b.payload, b.payload_encrypted,
           decode(b.payload_plain_hash, 'hex'), decode(b.payload_cipher_hash, 'hex'),
           decode(b.event_signing_hash, 'hex'), decode(b.agent_signature, 'hex'), b.base_version,
           decode(b.envelope_hash, 'hex'), b.sequenced_at, b.sequencer_id, decode(b.receipt_hash, 'hex'),
           b.signature_alg, decode(b.sequencer_signature, 'hex'), b.sequencer_key_version
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
    SELECT %(tenant_id)s, %(store_id)s, %(stream_kind)s, x.event_id, left(x.reason, 64), x.message,
           decode(x.body, 'base64'), %(request_id)s
    FROM jsonb_to_recordset(%(rejections)s::jsonb) AS x(event_id uuid, reason text, message text, body text)
    RETURNING 1
)
SELECT (SELECT count(*) FROM counter) AS counter_rows,
       (SELECT count(*) FROM inserted) AS inserted_rows,
       (SELECT count(*) FROM commands) AS command_rows,
       (SELECT count(*) FROM versions) AS version_rows,
       (SELECT count(*) FROM rejections) AS rejection_rows
