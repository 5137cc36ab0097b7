-- Synthetic VES events first..last of one stream, for benchmarks only (scripts/build_log_stream.py).
-- The signing hash and agent signature are deterministic filler (SHA-256 of the sequence number),
-- not real signatures: commitments and the RFC 6962 log hash them, they never verify them.
-- Index: ves_events primary key (one hash partition). Rows: last - first + 1.
INSERT INTO ves_events (
    tenant_id, store_id, sequence_number, event_id, command_id, ves_version, source_agent_id,
    agent_key_id, entity_type, entity_id, event_type, created_at, created_at_str, payload_kind,
    payload, payload_encrypted, payload_plain_hash, payload_cipher_hash, event_signing_hash,
    agent_signature, base_version, envelope_hash, sequenced_at, sequencer_id, receipt_hash,
    signature_alg, sequencer_signature, sequencer_key_version)
SELECT %(tenant_id)s, %(store_id)s, i, gen_random_uuid(), NULL, 1, %(agent_id)s,
       1, 'order', 'order-' || (i %% 1000), 'order.created', now(), '2026-01-01T00:00:00Z', 0,
       '{"total":42}'::bytea, NULL, sha256(int8send(i)), sha256(int8send(i)),
       sha256(int8send(i) || '\x01'::bytea),
       sha256(int8send(i) || '\x02'::bytea) || sha256(int8send(i) || '\x03'::bytea),
       NULL, sha256(int8send(i) || '\x04'::bytea), now(), %(agent_id)s, sha256(int8send(i) || '\x05'::bytea),
       'none', NULL, 0
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS i
