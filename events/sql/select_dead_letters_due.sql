-- Dead letters the scheduled retry may take now: pending, due (next_retry_at passed), and the
-- first open entry (pending or parked) of their ordering unit (projection, tenant, store), so a
-- unit's later entries are held behind its earliest open one and never fill the run's limit.
-- Index: dead_letter_due_idx (partial on status = 'pending', by next_retry_at) for the scan;
-- the NOT EXISTS probe is a range of dead_letter_event_unique (tenant_id, projection, store_id,
-- sequence_number). Reads every tenant (a beat tick): a coordinator-only path (docs/scaling.md).
-- Locks: none (each entry is locked in its own transaction afterwards). Rows: at most %(limit)s.
SELECT d.tenant_id, d.id
FROM projection_dead_letters d
WHERE d.status = 'pending'
  AND d.next_retry_at <= %(now)s
  AND NOT EXISTS (
      SELECT 1
      FROM projection_dead_letters e
      WHERE e.tenant_id = d.tenant_id
        AND e.projection = d.projection
        AND e.store_id = d.store_id
        AND e.sequence_number < d.sequence_number
        AND e.status IN ('pending', 'parked')
  )
ORDER BY d.next_retry_at
LIMIT %(limit)s
