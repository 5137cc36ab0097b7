-- Log per-event rejections of a request that sequenced nothing (no counter lock needed).
-- Index: rejected_events primary key (identity). Locks: inserted rows. Rows: none returned.
INSERT INTO rejected_events (tenant_id, store_id, stream_kind, event_id, reason, message, body, request_id)
SELECT %(tenant_id)s, %(store_id)s, %(stream_kind)s, x.event_id, x.reason, x.message,
       decode(x.body, 'base64'), x.request_id
FROM jsonb_to_recordset(%(rejections)s::jsonb) AS x(
    event_id uuid, reason text, message text, body text, request_id text)
