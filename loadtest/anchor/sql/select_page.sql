-- A page of rows from an id on. Index: primary key range scan.
SELECT id, event_id, body FROM loadtest_anchor WHERE id >= %(from_id)s ORDER BY id LIMIT %(limit)s
