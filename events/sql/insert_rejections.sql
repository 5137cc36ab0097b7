-- Log per-event rejections of a request that sequenced nothing (no counter lock needed).
-- Bodies arrive sealed or plain (events/rejected_bodies.py).
-- Index: rejected_events primary key (identity). Locks: inserted rows. Rows: none returned.
INSERT INTO rejected_events (tenant_id, store_id, stream_kind, event_id, reason, message, body, body_format,
                             body_key_id, entity_type, entity_id, request_id)
SELECT %(tenant_id)s, %(store_id)s, %(stream_kind)s, x.event_id, x.reason, x.message,
       decode(x.body, 'base64'), x.body_format, x.body_key_id, x.entity_type, x.entity_id, x.request_id
FROM jsonb_to_recordset(%(rejections)s::jsonb) AS x(
    event_id uuid, reason text, message text, body text, body_format smallint, body_key_id smallint,
    entity_type text, entity_id text, request_id text)
