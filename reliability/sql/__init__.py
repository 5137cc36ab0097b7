"""Read-only statements of the reliability checks, loaded once at import (one per file)."""

from sequencer_project.db.sql import load_sql

STREAM_SUMMARY = load_sql(__file__, "stream_summary.sql")
TENANT_EVENTS = load_sql(__file__, "tenant_events.sql")
COMMITMENT_RANGES = load_sql(__file__, "commitment_ranges.sql")
PROJECTION_BEHIND = load_sql(__file__, "projection_behind.sql")
PAYMENT_BATCH_RANGES = load_sql(__file__, "payment_batch_ranges.sql")
PAYMENT_INTENT_STATES = load_sql(__file__, "payment_intent_states.sql")
