-- One ingest request as one row (autocommit). Index: primary key, event_id. Locks: none.
INSERT INTO loadtest_anchor (event_id, events, body)
VALUES (%(event_id)s, %(events)s, %(body)s)
RETURNING id
