-- The settlement sweep (payments.settlement_sweep, evm backend): up to limit batches of every
-- tenant still committed or submitted with no change for stale_seconds: neither committed,
-- submitted nor tried since (the newest x402_settlement_attempts row: a settle task writes one
-- per try), oldest first. A batch whose settlement holds its row lock right now is skipped
-- (SKIP LOCKED). A worker killed mid-settlement leaves exactly such a batch; the sweep hands it
-- back to payments.batch_settle, which is idempotent.
-- Index: x402_batches_status (status: the in-flight rows only, few), then x402_attempts_batch
-- (batch_id, attempt) for each one's attempts.
-- Every tenant's rows: a coordinator path when distributed (docs/scaling.md).
-- Locks: the returned batch rows (FOR NO KEY UPDATE), until the sweep's transaction ends.
-- Rows: at most limit.
SELECT b.tenant_id, b.batch_id
FROM x402_payment_batches b
WHERE b.status IN ('committed', 'submitted')
  AND greatest(
        b.created_at, b.committed_at, b.submitted_at,
        (SELECT max(a.created_at)
         FROM x402_settlement_attempts a
         WHERE a.tenant_id = b.tenant_id AND a.batch_id = b.batch_id)
      ) < now() - make_interval(secs => %(stale_seconds)s)
ORDER BY greatest(b.created_at, b.committed_at, b.submitted_at)
LIMIT %(limit)s
FOR NO KEY UPDATE OF b SKIP LOCKED
