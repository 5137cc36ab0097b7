"""Raw DDL of migration 0001 (kept beside it so the migration reads as a list of steps)."""

CREATE_COUNTERS = """
CREATE TABLE sequence_counters (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    stream_kind smallint NOT NULL CHECK (stream_kind IN (1, 2, 3)),
    current_sequence bigint NOT NULL DEFAULT 0 CHECK (current_sequence >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, store_id, stream_kind)
);
"""
DROP_COUNTERS = "DROP TABLE sequence_counters;"

CREATE_ENTITY_VERSIONS = """
CREATE TABLE entity_versions (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    stream_kind smallint NOT NULL CHECK (stream_kind IN (1, 2, 3)),
    entity_type varchar(128) NOT NULL,
    entity_id varchar(512) NOT NULL,
    version bigint NOT NULL CHECK (version > 0),
    last_sequence bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, store_id, stream_kind, entity_type, entity_id)
);
"""
DROP_ENTITY_VERSIONS = "DROP TABLE entity_versions;"

CREATE_COMMAND_DEDUPE = """
CREATE TABLE command_dedupe (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    stream_kind smallint NOT NULL CHECK (stream_kind IN (1, 2, 3)),
    command_id uuid NOT NULL,
    event_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, store_id, stream_kind, command_id)
);
"""
DROP_COMMAND_DEDUPE = "DROP TABLE command_dedupe;"

# Legacy events, hash-partitioned by tenant. Every key starts with tenant_id (Citus-ready).
# payload holds the JSON bytes (payload_format 0) or an at-rest encrypted blob (later formats).
CREATE_EVENTS = """
CREATE TABLE events (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    sequence_number bigint NOT NULL CHECK (sequence_number > 0),
    event_id uuid NOT NULL,
    command_id uuid NULL,
    envelope_version integer NOT NULL DEFAULT 1,
    entity_type varchar(128) NOT NULL,
    entity_id varchar(512) NOT NULL,
    event_type varchar(256) NOT NULL,
    payload bytea NOT NULL,
    payload_format smallint NOT NULL DEFAULT 0,
    payload_hash bytea NOT NULL CHECK (octet_length(payload_hash) = 32),
    envelope_hash bytea NOT NULL CHECK (octet_length(envelope_hash) = 32),
    base_version bigint NULL,
    source_agent uuid NOT NULL,
    signature bytea NULL,
    created_at timestamptz NOT NULL,
    sequenced_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT events_pkey PRIMARY KEY (tenant_id, store_id, sequence_number),
    CONSTRAINT events_tenant_event_id_key UNIQUE (tenant_id, event_id)
) PARTITION BY HASH (tenant_id);
CREATE INDEX events_entity_idx ON events (tenant_id, store_id, entity_type, entity_id, sequence_number);
CREATE INDEX events_created_at_idx ON events (tenant_id, store_id, created_at DESC);
"""
DROP_EVENTS = "DROP TABLE events;"

CREATE_REJECTED_EVENTS = """
CREATE TABLE rejected_events (
    tenant_id uuid NOT NULL,
    rejection_id bigint GENERATED ALWAYS AS IDENTITY,
    store_id uuid NOT NULL,
    stream_kind smallint NOT NULL CHECK (stream_kind IN (1, 2, 3)),
    event_id uuid NULL,
    reason varchar(64) NOT NULL,
    message text NOT NULL,
    body bytea NOT NULL,
    request_id varchar(128) NOT NULL DEFAULT '',
    rejected_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, rejection_id)
);
CREATE INDEX rejected_events_stream_idx ON rejected_events (tenant_id, store_id, rejected_at DESC);
"""
DROP_REJECTED_EVENTS = "DROP TABLE rejected_events;"
