"""Raw DDL of migration 0002: the VES event store (receipts live on the event row)."""

# VES events, hash-partitioned by tenant like ``events``. ``created_at_str`` is the exact string
# the agent signed; ``envelope_hash`` fingerprints everything the client sent (exact replays).
# The receipt columns are written in the same statement as the event, so a stored event
# always has its receipt.
CREATE_VES_EVENTS = """
CREATE TABLE ves_events (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    sequence_number bigint NOT NULL CHECK (sequence_number > 0),
    event_id uuid NOT NULL,
    command_id uuid NULL,
    ves_version integer NOT NULL CHECK (ves_version >= 1),
    source_agent_id uuid NOT NULL,
    agent_key_id bigint NOT NULL CHECK (agent_key_id BETWEEN 0 AND 4294967295),
    entity_type varchar(128) NOT NULL CHECK (octet_length(entity_type) BETWEEN 1 AND 128),
    entity_id varchar(512) NOT NULL CHECK (octet_length(entity_id) BETWEEN 1 AND 512),
    event_type varchar(256) NOT NULL CHECK (octet_length(event_type) BETWEEN 1 AND 256),
    created_at timestamptz NOT NULL,
    created_at_str text NOT NULL,
    payload_kind smallint NOT NULL CHECK (payload_kind IN (0, 1)),
    payload bytea NULL,
    payload_encrypted jsonb NULL,
    payload_plain_hash bytea NOT NULL CHECK (octet_length(payload_plain_hash) = 32),
    payload_cipher_hash bytea NOT NULL CHECK (octet_length(payload_cipher_hash) = 32),
    event_signing_hash bytea NOT NULL CHECK (octet_length(event_signing_hash) = 32),
    agent_signature bytea NOT NULL CHECK (octet_length(agent_signature) = 64),
    base_version bigint NULL,
    envelope_hash bytea NOT NULL CHECK (octet_length(envelope_hash) = 32),
    sequenced_at timestamptz NOT NULL,
    sequencer_id uuid NOT NULL,
    receipt_hash bytea NOT NULL CHECK (octet_length(receipt_hash) = 32),
    signature_alg varchar(32) NOT NULL,
    sequencer_signature bytea NULL,
    sequencer_key_version integer NOT NULL DEFAULT 0,
    CONSTRAINT ves_events_pkey PRIMARY KEY (tenant_id, store_id, sequence_number),
    CONSTRAINT ves_events_tenant_event_id_key UNIQUE (tenant_id, event_id),
    CONSTRAINT ves_events_payload_matches_kind CHECK (
        (payload_kind = 0 AND payload IS NOT NULL AND payload_encrypted IS NULL)
        OR (payload_kind = 1 AND payload IS NULL AND payload_encrypted IS NOT NULL)),
    CONSTRAINT ves_events_signature_alg CHECK (
        (signature_alg = 'none' AND sequencer_signature IS NULL)
        OR (signature_alg <> 'none' AND sequencer_signature IS NOT NULL))
) PARTITION BY HASH (tenant_id);
CREATE INDEX ves_events_entity_idx ON ves_events (tenant_id, store_id, entity_type, entity_id, sequence_number);
CREATE INDEX ves_events_agent_idx ON ves_events (tenant_id, source_agent_id, sequenced_at);
"""
DROP_VES_EVENTS = "DROP TABLE ves_events;"
