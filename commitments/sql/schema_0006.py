"""Raw DDL of migration 0006: anchoring state of a commitment, and the anchoring sweep's index.

- ``anchor_pending_tx_hash``: an anchor transaction sent whose receipt was not seen (not mined in
  time, or the chain stopped answering meanwhile); the next attempt waits for it instead of
  sending a second one, and recording the anchor clears it.
- ``anchor_error_at``: when the last anchoring attempt failed (kept once anchored).
- ``anchor_swept_at``: when ``commitments.anchor_sweep`` last enqueued the commitment.

Writes are never blocked for long (STYLE rule 26): nullable columns without a default change only
the catalog, the hash's check is added ``NOT VALID`` and validated afterwards (a lock that lets
writes through), and the sweep's partial index (unanchored rows only, by
``coalesce(anchor_swept_at, committed_at)``) is built concurrently, after an invalid index of its
name left by an interrupted build is dropped. Migration 0007 replaces that index by
``commitments_anchor_due_idx``.

The migration is not atomic (a concurrent build cannot run in a transaction), so Django records
it only after its last step, and a run interrupted anywhere is run again from its first step.
Every step is therefore idempotent: the columns are added ``IF NOT EXISTS``, the check only when
pg_constraint lacks it (a DO block: one statement, its own transaction), ``VALIDATE`` of a valid
constraint does nothing, and the build drops an invalid index of its name first.
"""

from sequencer_project.db.rerunnable_ddl import check_added_once, invalid_index_dropper

ADD_COLUMNS = """
ALTER TABLE commitments
    ADD COLUMN IF NOT EXISTS anchor_pending_tx_hash bytea NULL,
    ADD COLUMN IF NOT EXISTS anchor_error_at timestamptz NULL,
    ADD COLUMN IF NOT EXISTS anchor_swept_at timestamptz NULL
"""
DROP_COLUMNS = """
ALTER TABLE commitments
    DROP COLUMN IF EXISTS anchor_swept_at,
    DROP COLUMN IF EXISTS anchor_error_at,
    DROP COLUMN IF EXISTS anchor_pending_tx_hash
"""

ADD_CHECK = check_added_once(
    "commitments", "commitments_anchor_pending_tx_hash_check", "octet_length(anchor_pending_tx_hash) = 32"
)
DROP_CHECK = "ALTER TABLE commitments DROP CONSTRAINT IF EXISTS commitments_anchor_pending_tx_hash_check"

VALIDATE = "ALTER TABLE commitments VALIDATE CONSTRAINT commitments_anchor_pending_tx_hash_check"

BUILD_INDEX = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS commitments_unanchored_idx"
    " ON commitments ((coalesce(anchor_swept_at, committed_at))) WHERE chain_tx_hash IS NULL"
)
DROP_INDEX = "DROP INDEX CONCURRENTLY IF EXISTS commitments_unanchored_idx"


# RunPython step of migration 0006 before BUILD_INDEX (and of 0007's reversal).
drop_invalid_unanchored_index = invalid_index_dropper(name="commitments_unanchored_idx", drop=DROP_INDEX)
