-- The anchoring sweep (commitments.anchor_sweep): claim up to limit commitments of every tenant
-- still unanchored grace_seconds after they were committed, or after the sweep last enqueued them,
-- oldest first, and stamp anchor_swept_at, so the next runs leave them for another grace period.
-- A commitment given up after ANCHOR_MAX_ATTEMPTS failed sends (anchor_given_up_at) is left alone
-- until an operator re-arms it (manage.py anchor_rearm). A commitment whose anchoring holds its
-- row lock right now is skipped (SKIP LOCKED).
-- Index: commitments_anchor_due_idx (partial, chain_tx_hash IS NULL AND anchor_given_up_at IS NULL:
-- a range scan over coalesce(anchor_swept_at, committed_at) of the rows still to anchor only), then
-- the primary key.
-- Every tenant's rows: a coordinator path when distributed (as select_pending_anchors.sql).
-- Locks: the claimed rows (FOR NO KEY UPDATE, then the update). Rows: at most limit.
WITH due AS (
    SELECT tenant_id, batch_id
    FROM commitments
    WHERE chain_tx_hash IS NULL
      AND anchor_given_up_at IS NULL
      AND coalesce(anchor_swept_at, committed_at) < now() - make_interval(secs => %(grace_seconds)s)
    ORDER BY coalesce(anchor_swept_at, committed_at)
    LIMIT %(limit)s
    FOR NO KEY UPDATE SKIP LOCKED
)
UPDATE commitments c
SET anchor_swept_at = now()
FROM due
WHERE c.tenant_id = due.tenant_id AND c.batch_id = due.batch_id
RETURNING c.tenant_id, c.batch_id
