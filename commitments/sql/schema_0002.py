"""Raw DDL of migration 0002: the RFC 6962 log of every stream (node store and checkpoints)."""

# Node (level, index) of a stream's log: the root of the perfect subtree over leaves
# [index * 2^level, (index + 1) * 2^level). Immutable once written; inserts are idempotent.
# The log's size is the stream's last commitment's sequence_end (appended in the same
# transaction as the commitment), so no separate size row can drift.
CREATE_LOG_NODES = """
CREATE TABLE log_nodes (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    stream_kind smallint NOT NULL CHECK (stream_kind IN (1, 2)),
    level smallint NOT NULL CHECK (level BETWEEN 0 AND 63),
    index bigint NOT NULL CHECK (index >= 0),
    hash bytea NOT NULL CHECK (octet_length(hash) = 32),
    CONSTRAINT log_nodes_pkey PRIMARY KEY (tenant_id, store_id, stream_kind, level, index)
);
"""
DROP_LOG_NODES = "DROP TABLE log_nodes;"

# One checkpoint per commitment: the log's size and root after it, and the signed note (NULL
# when no sequencer signing key was configured at the time).
CREATE_LOG_CHECKPOINTS = """
CREATE TABLE log_checkpoints (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    stream_kind smallint NOT NULL CHECK (stream_kind IN (1, 2)),
    tree_size bigint NOT NULL CHECK (tree_size >= 1),
    root_hash bytea NOT NULL CHECK (octet_length(root_hash) = 32),
    note text NULL,
    batch_id uuid NOT NULL REFERENCES commitments (batch_id),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT log_checkpoints_pkey PRIMARY KEY (tenant_id, store_id, stream_kind, tree_size)
);
"""
DROP_LOG_CHECKPOINTS = "DROP TABLE log_checkpoints;"
