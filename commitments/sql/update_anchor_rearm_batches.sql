-- Re-arm the anchoring of unanchored commitments named by batch id (manage.py anchor_rearm
-- --batch), restricted to one tenant when tenant_id is given: failed sends back to 0, not given up,
-- and due for the next sweep (anchor_swept_at cleared). Only those with a failed send (counted or
-- given up): one with none is left as it is, its sweep state too (an anchoring may be in flight).
-- Index: commitments_batch_id_idx (a coordinator path when distributed). Locks: those rows. Rows:
-- at most the ids given.
UPDATE commitments
SET anchor_attempts = 0, anchor_given_up_at = NULL, anchor_swept_at = NULL
WHERE batch_id = ANY(%(batch_ids)s::uuid[])
  AND (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
  AND chain_tx_hash IS NULL
  AND (anchor_attempts > 0 OR anchor_given_up_at IS NOT NULL)
RETURNING tenant_id, batch_id
