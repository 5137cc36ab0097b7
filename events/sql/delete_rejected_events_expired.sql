-- Retention of the rejection log (docs/operations.md, "Retention"): delete at most %(batch_size)s
-- rows of rejected_events older than %(retention_days)s days (the database's clock, as the
-- rows' rejected_at), oldest first. The inner SELECT walks rejected_events_rejected_at_idx from
-- its oldest entry and stops at the LIMIT; the rows are then found by primary key
-- (tenant_id, rejection_id): a nested loop of index probes on a large table (1.5 M rows: 5,000
-- rows in ~0.1 s), a hash join over one scan on a small one, where that is cheaper. Keys, not
-- ctid, so the statement stays right when the table is distributed by tenant (docs/scaling.md).
-- Locks: the deleted rows only (a row being re-encrypted meanwhile is waited for, then deleted).
-- Rows: none returned (the row count is the cursor's).
DELETE FROM rejected_events
WHERE (tenant_id, rejection_id) IN (
    SELECT tenant_id, rejection_id
    FROM rejected_events
    WHERE rejected_at < now() - make_interval(days => %(retention_days)s::int)
    ORDER BY rejected_at
    LIMIT %(batch_size)s
)
