-- One row by its event id. Index: loadtest_anchor_event_id.
SELECT id, event_id, body FROM loadtest_anchor WHERE event_id = %(event_id)s
