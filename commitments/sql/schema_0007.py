"""Raw DDL of migration 0007: the anchor transaction kept before it is sent, and the attempt cap.

- ``anchor_signed_tx``, ``anchor_tx_nonce``: the signed bytes and nonce of the anchor transaction
  whose hash is ``anchor_pending_tx_hash``, committed before they are sent. An attempt that dies
  between storing and sending them (or after sending) leaves them, and the next attempt sends
  exactly those bytes again or waits for them; the chain mines them at most once.
- ``anchor_attempts``: failed sends (a revert, or a gas estimate saying it would revert); waiting
  for a pending transaction or an unavailable chain does not count. ``NULL`` reads as 0.
- ``anchor_given_up_at``: when ``anchor_attempts`` reached ``ANCHOR_MAX_ATTEMPTS``; the sweep
  leaves the commitment alone until ``manage.py anchor_rearm`` clears it.

Writes are never blocked for long (STYLE rule 26), as in 0006: nullable columns without a default
change only the catalog, the checks are added ``NOT VALID`` and validated afterwards, and the
indexes are built concurrently (each after an invalid index of its name is dropped,
:func:`sequencer_project.db.rerunnable_ddl.drop_invalid_index`):

- ``commitments_anchor_due_idx``: the sweep's, 0006's ``commitments_unanchored_idx`` without the
  given-up rows (they would otherwise sit at its old end, read and skipped at every sweep), which
  is then dropped;
- ``commitments_anchor_given_up_idx``: the given-up unanchored rows (normally none), for
  ``/health/detailed`` and ``anchor_rearm --all-given-up``.

As 0006, the migration is not atomic and every step is idempotent, so a run interrupted anywhere
can be run again from its first step: columns ``IF NOT EXISTS``, each check added only when
pg_constraint lacks it, ``VALIDATE`` and the ``IF EXISTS`` drop repeatable, each build after an
invalid index of its name is dropped.
"""

from sequencer_project.db.rerunnable_ddl import check_added_once, invalid_index_dropper

ADD_COLUMNS = """
ALTER TABLE commitments
    ADD COLUMN IF NOT EXISTS anchor_signed_tx bytea NULL,
    ADD COLUMN IF NOT EXISTS anchor_tx_nonce bigint NULL,
    ADD COLUMN IF NOT EXISTS anchor_attempts integer NULL,
    ADD COLUMN IF NOT EXISTS anchor_given_up_at timestamptz NULL
"""
DROP_COLUMNS = """
ALTER TABLE commitments
    DROP COLUMN IF EXISTS anchor_given_up_at,
    DROP COLUMN IF EXISTS anchor_attempts,
    DROP COLUMN IF EXISTS anchor_tx_nonce,
    DROP COLUMN IF EXISTS anchor_signed_tx
"""

ADD_SIGNED_TX_CHECK = check_added_once(
    "commitments",
    "commitments_anchor_signed_tx_check",
    "anchor_signed_tx IS NULL OR (anchor_pending_tx_hash IS NOT NULL AND anchor_tx_nonce IS NOT NULL"
    " AND octet_length(anchor_signed_tx) BETWEEN 1 AND 131072)",
)
DROP_SIGNED_TX_CHECK = "ALTER TABLE commitments DROP CONSTRAINT IF EXISTS commitments_anchor_signed_tx_check"

ADD_ATTEMPTS_CHECK = check_added_once(
    "commitments", "commitments_anchor_attempts_check", "anchor_attempts >= 0 AND anchor_tx_nonce >= 0"
)
DROP_ATTEMPTS_CHECK = "ALTER TABLE commitments DROP CONSTRAINT IF EXISTS commitments_anchor_attempts_check"

VALIDATE_SIGNED_TX = "ALTER TABLE commitments VALIDATE CONSTRAINT commitments_anchor_signed_tx_check"
VALIDATE_ATTEMPTS = "ALTER TABLE commitments VALIDATE CONSTRAINT commitments_anchor_attempts_check"

BUILD_DUE_INDEX = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS commitments_anchor_due_idx"
    " ON commitments ((coalesce(anchor_swept_at, committed_at)))"
    " WHERE chain_tx_hash IS NULL AND anchor_given_up_at IS NULL"
)
DROP_DUE_INDEX = "DROP INDEX CONCURRENTLY IF EXISTS commitments_anchor_due_idx"

BUILD_GIVEN_UP_INDEX = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS commitments_anchor_given_up_idx"
    " ON commitments (anchor_given_up_at) WHERE anchor_given_up_at IS NOT NULL AND chain_tx_hash IS NULL"
)
DROP_GIVEN_UP_INDEX = "DROP INDEX CONCURRENTLY IF EXISTS commitments_anchor_given_up_idx"

# 0006's sweep index, replaced by commitments_anchor_due_idx (rebuilt when 0007 is reversed).
DROP_UNANCHORED_INDEX = "DROP INDEX CONCURRENTLY IF EXISTS commitments_unanchored_idx"


# RunPython steps of migration 0007, each before its index's build.
drop_invalid_due_index = invalid_index_dropper(name="commitments_anchor_due_idx", drop=DROP_DUE_INDEX)
drop_invalid_given_up_index = invalid_index_dropper(name="commitments_anchor_given_up_idx", drop=DROP_GIVEN_UP_INDEX)
