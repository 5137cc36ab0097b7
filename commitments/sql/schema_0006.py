"""Raw DDL of migration 0006: anchoring state of a commitment, and the anchoring sweep's index.

- ``anchor_pending_tx_hash``: an anchor transaction sent whose receipt was not seen (not mined in
  time, or the chain stopped answering meanwhile); the next attempt waits for it instead of
  sending a second one, and recording the anchor clears it.
- ``anchor_error_at``: when the last anchoring attempt failed (kept once anchored).
- ``anchor_swept_at``: when ``commitments.anchor_sweep`` last enqueued the commitment.

Writes are never blocked for long (STYLE rule 26): nullable columns without a default change only
the catalog, the hash's check is added ``NOT VALID`` and validated afterwards (a lock that lets
writes through), and the sweep's partial index (unanchored rows only, by
``coalesce(anchor_swept_at, committed_at)``) is built concurrently.
"""

ADD_COLUMNS = """
ALTER TABLE commitments
    ADD COLUMN anchor_pending_tx_hash bytea NULL,
    ADD COLUMN anchor_error_at timestamptz NULL,
    ADD COLUMN anchor_swept_at timestamptz NULL,
    ADD CONSTRAINT commitments_anchor_pending_tx_hash_check
        CHECK (octet_length(anchor_pending_tx_hash) = 32) NOT VALID
"""
DROP_COLUMNS = """
ALTER TABLE commitments
    DROP COLUMN anchor_swept_at,
    DROP COLUMN anchor_error_at,
    DROP COLUMN anchor_pending_tx_hash
"""

VALIDATE = "ALTER TABLE commitments VALIDATE CONSTRAINT commitments_anchor_pending_tx_hash_check"

BUILD_INDEX = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS commitments_unanchored_idx"
    " ON commitments ((coalesce(anchor_swept_at, committed_at))) WHERE chain_tx_hash IS NULL"
)
DROP_INDEX = "DROP INDEX CONCURRENTLY IF EXISTS commitments_unanchored_idx"
