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
"""

from typing import Any

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

# A concurrent build that was interrupted (a cancelled migration, a deadlock, a unique violation)
# leaves an INVALID index of that name behind, which ``CREATE INDEX ... IF NOT EXISTS`` then keeps:
# the migration "succeeds" with an index the planner never uses but every write still maintains.
# So before each build, an index of that name marked invalid in pg_index is dropped
# (``DROP INDEX CONCURRENTLY``: not in a transaction nor a DO block, hence a RunPython step of the
# non-atomic migration; see :func:`drop_invalid_index`).
SELECT_INVALID_INDEX = """
SELECT 1 FROM pg_index WHERE indexrelid = to_regclass(%(name)s) AND NOT indisvalid
"""


def drop_invalid_index(schema_editor: Any, *, name: str, drop: str) -> bool:
    """Run ``drop`` (a ``DROP INDEX CONCURRENTLY`` of ``name``) when an index ``name`` exists and
    pg_index marks it invalid; whether it did. ``schema_editor`` is a non-atomic migration's."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(SELECT_INVALID_INDEX, {"name": name})
        invalid = cursor.fetchone() is not None
    if invalid:
        schema_editor.execute(drop)
    return invalid


def drop_invalid_unanchored_index(apps: Any, schema_editor: Any) -> None:
    """RunPython step of migration 0006 before :data:`BUILD_INDEX`."""
    drop_invalid_index(schema_editor, name="commitments_unanchored_idx", drop=DROP_INDEX)
