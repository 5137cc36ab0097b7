"""Raw DDL of migration 0004: on-request commitments beside each stream's chain (ADR 0020).

A row with ``on_request`` true seals a range a client asked for that is not the next range of the
stream's chain (the contiguous commitments the RFC 6962 log and checkpoints are built from). Its
range may overlap the chain and other requested rows; one row per exact range makes a repeated
request return the same row. Chain rows keep their one-row-per-start rule.
"""

ADD_ON_REQUEST = """
ALTER TABLE commitments ADD COLUMN on_request boolean NOT NULL DEFAULT false;
ALTER TABLE commitments DROP CONSTRAINT commitments_stream_start_key;
CREATE UNIQUE INDEX commitments_chain_start_key ON commitments (tenant_id, store_id, stream_kind, sequence_start)
    WHERE NOT on_request;
CREATE UNIQUE INDEX commitments_requested_range_key
    ON commitments (tenant_id, store_id, stream_kind, sequence_start, sequence_end)
    WHERE on_request;
"""

# Backward: the old schema cannot hold overlapping ranges, so requested rows (and nothing of the
# chain) are deleted first.
DROP_ON_REQUEST = """
DELETE FROM commitments WHERE on_request;
DROP INDEX commitments_requested_range_key;
DROP INDEX commitments_chain_start_key;
ALTER TABLE commitments ADD CONSTRAINT commitments_stream_start_key
    UNIQUE (tenant_id, store_id, stream_kind, sequence_start);
ALTER TABLE commitments DROP COLUMN on_request;
"""
