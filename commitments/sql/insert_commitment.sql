-- Seal one range: a link of the chain (on_request false, after the contiguity checks; the
-- unique chain start key backs them up) with the signed checkpoint of the log it grew, or an
-- on-request row without one (tree_size NULL; the unique range key backs up the idempotency
-- check). One statement for both rows: the checkpoint's foreign key to the commitment is checked
-- at the end of the statement, when the commitment row is there. The checkpoint insert is
-- idempotent for a retried commitment. Runs under the COMMITMENT_STREAM advisory lock.
-- Index: commitments_pkey and its unique keys; log_checkpoints_pkey. Locks: the new rows.
WITH sealed AS (
    INSERT INTO commitments (batch_id, tenant_id, store_id, stream_kind, ves_version, tree_depth, leaf_count,
                             padded_leaf_count, merkle_root, prev_state_root, new_state_root, sequence_start,
                             sequence_end, committed_at, on_request)
    VALUES (%(batch_id)s, %(tenant_id)s, %(store_id)s, %(stream_kind)s, %(ves_version)s, %(tree_depth)s,
            %(leaf_count)s, %(padded_leaf_count)s, %(merkle_root)s, %(prev_state_root)s, %(new_state_root)s,
            %(sequence_start)s, %(sequence_end)s, now(), %(on_request)s)
    RETURNING batch_id, tenant_id, store_id, stream_kind, ves_version, tree_depth, leaf_count, padded_leaf_count,
           merkle_root, prev_state_root, new_state_root, sequence_start, sequence_end, committed_at,
           chain_id, chain_tx_hash, chain_block_number, anchored_at, on_request
), checkpoint AS (
    INSERT INTO log_checkpoints (tenant_id, store_id, stream_kind, tree_size, root_hash, note, batch_id)
    SELECT s.tenant_id, s.store_id, s.stream_kind, %(tree_size)s, %(root_hash)s, %(note)s, s.batch_id
    FROM sealed s
    WHERE %(tree_size)s::bigint IS NOT NULL
    ON CONFLICT DO NOTHING
)
SELECT * FROM sealed
