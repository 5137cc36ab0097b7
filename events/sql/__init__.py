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

# --- Projections and dead letters (issue 6) ---------------------------------------------------
ENSURE_PROJECTION_CHECKPOINT = load_sql(__file__, "ensure_projection_checkpoint.sql")
SELECT_PROJECTION_CHECKPOINT = load_sql(__file__, "select_projection_checkpoint.sql")
UPDATE_PROJECTION_CHECKPOINT = load_sql(__file__, "update_projection_checkpoint.sql")
RESET_PROJECTION_CHECKPOINT = load_sql(__file__, "reset_projection_checkpoint.sql")
SELECT_PROJECTION_EVENTS = load_sql(__file__, "select_projection_events.sql")
SELECT_PROJECTION_EVENT = load_sql(__file__, "select_projection_event.sql")
SELECT_PROJECTION_STREAMS_DUE = load_sql(__file__, "select_projection_streams_due.sql")
SELECT_PROJECTION_LAG = load_sql(__file__, "select_projection_lag.sql")
SELECT_PROJECTION_LAG_MAX = load_sql(__file__, "select_projection_lag_max.sql")
SELECT_ENTITY_STATE_FOR_UPDATE = load_sql(__file__, "select_entity_state_for_update.sql")
UPSERT_ENTITY_STATE = load_sql(__file__, "upsert_entity_state.sql")
DELETE_ENTITY_STATE_STREAM = load_sql(__file__, "delete_entity_state_stream.sql")
SELECT_ENTITY_STATE = load_sql(__file__, "select_entity_state.sql")
INSERT_DEAD_LETTER = load_sql(__file__, "insert_dead_letter.sql")
COUNT_DEAD_LETTERS_OPEN = load_sql(__file__, "count_dead_letters_open.sql")
