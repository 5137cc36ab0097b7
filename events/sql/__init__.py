"""SQL statements of the events app, loaded once at import (one statement per file)."""

from sequencer_project.db.sql import load_sql

LOCK_COUNTER = load_sql(__file__, "lock_counter.sql")
CREATE_STREAM = load_sql(__file__, "create_stream.sql")
CLASSIFY_BATCH = load_sql(__file__, "classify_batch.sql")
INSERT_BATCH = load_sql(__file__, "insert_batch.sql")
INSERT_REJECTIONS = load_sql(__file__, "insert_rejections.sql")
SELECT_HEAD = load_sql(__file__, "select_head.sql")
SELECT_EVENT_RANGE = load_sql(__file__, "select_event_range.sql")
SELECT_EVENT_BY_ID = load_sql(__file__, "select_event_by_id.sql")
SELECT_ENTITY_EVENTS = load_sql(__file__, "select_entity_events.sql")
CLASSIFY_VES_BATCH = load_sql(__file__, "classify_ves_batch.sql")
INSERT_VES_BATCH = load_sql(__file__, "insert_ves_batch.sql")
SELECT_VES_EVENT_RANGE = load_sql(__file__, "select_ves_event_range.sql")
SELECT_VES_EVENT_BY_ID = load_sql(__file__, "select_ves_event_by_id.sql")
# Payload encryption at rest (issue 4).
SELECT_PAYLOADS_TO_REENCRYPT = load_sql(__file__, "select_payloads_to_reencrypt.sql")
COUNT_PAYLOADS_TO_REENCRYPT = load_sql(__file__, "count_payloads_to_reencrypt.sql")
UPDATE_REENCRYPTED_PAYLOADS = load_sql(__file__, "update_reencrypted_payloads.sql")
