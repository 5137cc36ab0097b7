-- One page of the ingest-side dead letters (rejected_events) for the operator admin, newest
-- first, optionally for one tenant; keyset paging on rejection_id, no COUNT(*). Index: for one
-- tenant the primary key (tenant_id, rejection_id), read backwards; for every tenant none serves
-- the order, so the table is read and its newest rows kept (a top-N sort: 44 ms at 232,000 rows),
-- which REJECTED_EVENTS_RETENTION_DAYS bounds (docs/operations.md, "Retention").
-- Locks: none. Rows: at most the page size plus one; bodies plain or sealed (events/rejected_bodies.py).
SELECT r.rejection_id, r.tenant_id, r.store_id, r.stream_kind, r.event_id, r.reason, r.message,
       r.body, r.request_id, r.rejected_at, r.body_format, r.body_key_id
FROM rejected_events r
WHERE (%(tenant_id)s::uuid IS NULL OR r.tenant_id = %(tenant_id)s::uuid)
  AND r.rejection_id < %(before)s
ORDER BY r.rejection_id DESC
LIMIT %(limit)s
