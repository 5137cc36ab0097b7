"""SQL statements of the commitments app, loaded once at import (one statement per file)."""

from sequencer_project.db.sql import load_sql

SELECT_COMMITMENT_BY_RANGE = load_sql(__file__, "select_commitment_by_range.sql")
SELECT_STATE_ROOT_BEFORE = load_sql(__file__, "select_state_root_before.sql")
SELECT_PENDING_ANCHORS = load_sql(__file__, "select_pending_anchors.sql")
SELECT_CHAIN_TIPS = load_sql(__file__, "select_chain_tips.sql")
SELECT_COMMITMENT_BY_ID = load_sql(__file__, "select_commitment_by_id.sql")
SELECT_TENANT_COMMITMENT_BY_ID = load_sql(__file__, "select_tenant_commitment_by_id.sql")
SELECT_COMMITMENT_COVERING = load_sql(__file__, "select_commitment_covering.sql")
SELECT_COMMITMENTS = load_sql(__file__, "select_commitments.sql")
INSERT_COMMITMENT = load_sql(__file__, "insert_commitment.sql")
SELECT_VES_LEAF_RECORDS = load_sql(__file__, "select_ves_leaf_records.sql")
SELECT_LEGACY_LEAF_RECORDS = load_sql(__file__, "select_legacy_leaf_records.sql")
SELECT_PENDING_STREAMS = load_sql(__file__, "select_pending_streams.sql")
SELECT_COMMITMENT_LAG = load_sql(__file__, "select_commitment_lag.sql")
SELECT_LOG_TILES = load_sql(__file__, "select_log_tiles.sql")
UPSERT_LOG_TILES = load_sql(__file__, "upsert_log_tiles.sql")
SELECT_LOG_CHECKPOINT = load_sql(__file__, "select_log_checkpoint.sql")
LOCK_COMMITMENT = load_sql(__file__, "lock_commitment.sql")
LOCK_COMMITMENT_STREAMS = load_sql(__file__, "lock_commitment_streams.sql")
LOCK_TENANT_COMMITMENT = load_sql(__file__, "lock_tenant_commitment.sql")
UPDATE_TENANT_COMMITMENT_ANCHOR = load_sql(__file__, "update_tenant_commitment_anchor.sql")
