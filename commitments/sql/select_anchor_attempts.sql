-- The anchoring state of commitments named by batch id (manage.py anchor_rearm; the operator
-- admin's change page), restricted to one tenant when tenant_id is given: batch id, tenant, whether
-- anchored, failed sends, when given up, the kept transaction's hash, the last failure.
-- Index: commitments_batch_id_idx (batch ids of any tenant: a coordinator path when distributed).
-- Locks: none. Rows: at most the ids given.
SELECT batch_id, tenant_id, chain_tx_hash IS NOT NULL, coalesce(anchor_attempts, 0), anchor_given_up_at,
       anchor_pending_tx_hash, anchor_error_at
FROM commitments
WHERE batch_id = ANY(%(batch_ids)s::uuid[])
  AND (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
