"""SQL statements of the events app, loaded once at import (one statement per file)."""

from sequencer_project.db.sql import load_sql

CLASSIFY_BATCH = load_sql(__file__, "classify_batch.sql")
APPEND_BATCH = load_sql(__file__, "append_batch.sql")
APPEND_STREAMS = load_sql(__file__, "append_streams.sql")
INSERT_REJECTIONS = load_sql(__file__, "insert_rejections.sql")
SELECT_HEAD = load_sql(__file__, "select_head.sql")
SELECT_EVENT_RANGE = load_sql(__file__, "select_event_range.sql")
SELECT_EVENT_BY_ID = load_sql(__file__, "select_event_by_id.sql")
SELECT_ENTITY_EVENTS = load_sql(__file__, "select_entity_events.sql")
CLASSIFY_VES_BATCH = load_sql(__file__, "classify_ves_batch.sql")
INSERT_VES_BATCH = load_sql(__file__, "insert_ves_batch.sql")
SELECT_VES_EVENT_RANGE = load_sql(__file__, "select_ves_event_range.sql")
SELECT_VES_EVENT_BY_ID = load_sql(__file__, "select_ves_event_by_id.sql")
SELECT_PAYLOAD_KEY_ID = load_sql(__file__, "select_payload_key_id.sql")
# Payload encryption at rest (docs/encryption.md).
SELECT_PAYLOADS_TO_REENCRYPT = load_sql(__file__, "select_payloads_to_reencrypt.sql")
COUNT_PAYLOADS_TO_REENCRYPT = load_sql(__file__, "count_payloads_to_reencrypt.sql")
SELECT_PAYLOADS_ON_NEWEST_KEY = load_sql(__file__, "select_payloads_on_newest_key.sql")
UPDATE_REENCRYPTED_PAYLOADS = load_sql(__file__, "update_reencrypted_payloads.sql")
SELECT_STATES_TO_REENCRYPT = load_sql(__file__, "select_states_to_reencrypt.sql")
COUNT_STATES_TO_REENCRYPT = load_sql(__file__, "count_states_to_reencrypt.sql")
UPDATE_REENCRYPTED_STATES = load_sql(__file__, "update_reencrypted_states.sql")
SELECT_REJECTED_BODIES_TO_REENCRYPT = load_sql(__file__, "select_rejected_bodies_to_reencrypt.sql")
COUNT_REJECTED_BODIES_TO_REENCRYPT = load_sql(__file__, "count_rejected_bodies_to_reencrypt.sql")
UPDATE_REENCRYPTED_REJECTED_BODIES = load_sql(__file__, "update_reencrypted_rejected_bodies.sql")

# --- Projections and dead letters (docs/projections.md) ---------------------------------------
ENSURE_PROJECTION_CHECKPOINTS = load_sql(__file__, "ensure_projection_checkpoints.sql")
LOCK_PROJECTION_STREAMS = load_sql(__file__, "lock_projection_streams.sql")
SELECT_PROJECTION_BATCHES = load_sql(__file__, "select_projection_batches.sql")
REFER_PROJECTION_BATCHES = load_sql(__file__, "refer_projection_batches.sql")
UPDATE_PROJECTION_CHECKPOINTS = load_sql(__file__, "update_projection_checkpoints.sql")
RESET_PROJECTION_CHECKPOINT = load_sql(__file__, "reset_projection_checkpoint.sql")
SELECT_PROJECTION_EVENT = load_sql(__file__, "select_projection_event.sql")
SELECT_PROJECTION_STREAMS_DUE = load_sql(__file__, "select_projection_streams_due.sql")
SELECT_PROJECTION_LAG = load_sql(__file__, "select_projection_lag.sql")
SELECT_PROJECTION_LAG_MAX = load_sql(__file__, "select_projection_lag_max.sql")
INSERT_ENTITY_STATE_REFERENCES = load_sql(__file__, "insert_entity_state_references.sql")
SELECT_ENTITY_STATES_FOR_UPDATE = load_sql(__file__, "select_entity_states_for_update.sql")
UPSERT_ENTITY_STATES = load_sql(__file__, "upsert_entity_states.sql")
DELETE_ENTITY_STATE_STREAM = load_sql(__file__, "delete_entity_state_stream.sql")
DELETE_ENTITY_STATES = load_sql(__file__, "delete_entity_states.sql")
SELECT_ENTITY_STATE = load_sql(__file__, "select_entity_state.sql")
INSERT_DEAD_LETTER = load_sql(__file__, "insert_dead_letter.sql")
SELECT_DEAD_LETTERS_DUE = load_sql(__file__, "select_dead_letters_due.sql")
COUNT_DEAD_LETTERS_OPEN = load_sql(__file__, "count_dead_letters_open.sql")
COUNT_PROJECTION_STALLED = load_sql(__file__, "count_projection_stalled.sql")
SELECT_EVENTS_ADMIN = load_sql(__file__, "select_events_admin.sql")
SELECT_REJECTED_ADMIN = load_sql(__file__, "select_rejected_admin.sql")
SELECT_TENANT_STREAM_PANEL = load_sql(__file__, "select_tenant_stream_panel.sql")

# --- Admin JSON (docs/auth.md): counters and summaries only, never the event tables ----------
# Each statement
# is its own file preceded by the CTE fragments it reads, composed here once: `streams` (heads
# and projection positions) and `summaries` (per-tenant figures), so the figures are defined in
# one place for the overview, the tenant list and the store list.
_STREAMS = load_sql(__file__, "admin_streams.sql")
_SUMMARIES = load_sql(__file__, "admin_tenant_summaries.sql")


def _with(body: str, *, summaries: bool) -> str:
    ctes = f"streams AS (\n{_STREAMS}\n)"
    if summaries:
        ctes += f", summaries AS (\n{_SUMMARIES}\n)"
    return f"WITH {ctes}\n{body}"


ADMIN_OVERVIEW = _with(load_sql(__file__, "admin_overview.sql"), summaries=True)
ADMIN_TENANTS = _with(load_sql(__file__, "admin_tenants.sql"), summaries=True)
ADMIN_STORES = _with(load_sql(__file__, "admin_stores.sql"), summaries=False)
ADMIN_AGENTS = load_sql(__file__, "admin_agents.sql")

# --- Retention of the rejection log (docs/operations.md, "Retention") --------------------------
DELETE_REJECTED_EVENTS_EXPIRED = load_sql(__file__, "delete_rejected_events_expired.sql")
