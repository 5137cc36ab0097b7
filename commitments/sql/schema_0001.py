"""Raw DDL of migration 0001: commitments of both stream kinds, and the RFC 6962 node store."""

# One row per sealed range of one stream (stream_kind 1 legacy, 2 VES). ``merkle_root`` is the
# VES merkle root or the legacy ``events_root``. The unique key on the range start makes a
# retried creation find the row it already wrote; ``sequence_end`` chaining is checked under the
# COMMITMENT_STREAM advisory lock by the service.
CREATE_COMMITMENTS = """
CREATE TABLE commitments (
    batch_id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    stream_kind smallint NOT NULL CHECK (stream_kind IN (1, 2)),
    ves_version integer NOT NULL,
    tree_depth integer NOT NULL CHECK (tree_depth >= 0),
    leaf_count integer NOT NULL CHECK (leaf_count >= 1),
    padded_leaf_count integer NOT NULL CHECK (padded_leaf_count >= leaf_count),
    merkle_root bytea NOT NULL CHECK (octet_length(merkle_root) = 32),
    prev_state_root bytea NOT NULL CHECK (octet_length(prev_state_root) = 32),
    new_state_root bytea NOT NULL CHECK (octet_length(new_state_root) = 32),
    sequence_start bigint NOT NULL CHECK (sequence_start >= 1),
    sequence_end bigint NOT NULL,
    committed_at timestamptz NOT NULL,
    chain_id bigint NULL,
    chain_tx_hash bytea NULL CHECK (octet_length(chain_tx_hash) = 32),
    chain_block_number bigint NULL,
    anchored_at timestamptz NULL,
    CONSTRAINT commitments_range CHECK (sequence_end >= sequence_start
        AND leaf_count = sequence_end - sequence_start + 1),
    CONSTRAINT commitments_stream_start_key UNIQUE (tenant_id, store_id, stream_kind, sequence_start)
);
CREATE INDEX commitments_stream_end_idx ON commitments (tenant_id, store_id, stream_kind, sequence_end);
CREATE INDEX commitments_kind_committed_idx ON commitments (stream_kind, committed_at);
"""
DROP_COMMITMENTS = "DROP TABLE commitments;"
