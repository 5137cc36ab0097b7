-- Park an event a projection's handler raised on (first failure), in the batch's transaction.
-- Index: dead_letter_event_unique. Locks: the row. Rows: none returned. A replayed stream
-- (rebuild) that fails again on the same event refreshes the existing row, unless an operator
-- discarded it: discarded is for good (the event stays unapplied, the row as the operator left it).
INSERT INTO projection_dead_letters (projection, tenant_id, store_id, stream_kind, sequence_number,
                                     event_id, error_class, error_message, attempts, status,
                                     next_retry_at, first_failed_at, last_failed_at)
VALUES (%(projection)s, %(tenant_id)s, %(store_id)s, %(stream_kind)s, %(sequence_number)s,
        %(event_id)s, %(error_class)s, %(error_message)s, 1, %(status)s, %(next_retry_at)s, now(), now())
ON CONFLICT (tenant_id, projection, store_id, sequence_number) DO UPDATE
SET error_class = excluded.error_class, error_message = excluded.error_message,
    attempts = 1, status = excluded.status, next_retry_at = excluded.next_retry_at,
    last_failed_at = now(), resolved_at = NULL
WHERE projection_dead_letters.status <> 'discarded'
