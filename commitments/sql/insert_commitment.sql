-- Seal ranges of streams of one kind, one row per element of the arrays: links of their chains
-- (on_request false, after the contiguity checks; the unique chain start key backs them up), each
-- with the signed checkpoint of the log it grew, or on-request rows without one (tree_size NULL;
-- the unique range key backs up the idempotency check). One statement for every row: the
-- checkpoints' foreign keys to their commitments are checked at the end of the statement, when
-- the commitment rows are there. A checkpoint insert is idempotent for a retried commitment.
-- Runs under each stream's COMMITMENT_STREAM advisory lock.
-- Index: commitments_pkey and its unique keys; log_checkpoints_pkey. Locks: the new rows.
-- Rows: the commitments, in the arrays' order.
WITH given AS (
    SELECT *
    FROM unnest(%(batch_ids)b::uuid[], %(tenant_ids)b::uuid[], %(store_ids)b::uuid[], %(tree_depths)b::integer[],
                %(leaf_counts)b::bigint[], %(padded_leaf_counts)b::bigint[], %(merkle_roots)b::bytea[],
                %(prev_state_roots)b::bytea[], %(new_state_roots)b::bytea[], %(sequence_starts)b::bigint[],
                %(sequence_ends)b::bigint[], %(on_requests)b::boolean[], %(tree_sizes)b::bigint[],
                %(root_hashes)b::bytea[], %(notes)b::text[])
         WITH ORDINALITY AS g(batch_id, tenant_id, store_id, tree_depth, leaf_count, padded_leaf_count,
                              merkle_root, prev_state_root, new_state_root, sequence_start, sequence_end,
                              on_request, tree_size, root_hash, note, position)
), sealed AS (
    INSERT INTO commitments (batch_id, tenant_id, store_id, stream_kind, ves_version, tree_depth, leaf_count,
                             padded_leaf_count, merkle_root, prev_state_root, new_state_root, sequence_start,
                             sequence_end, committed_at, on_request)
    SELECT g.batch_id, g.tenant_id, g.store_id, %(stream_kind)s, %(ves_version)s, g.tree_depth, g.leaf_count,
           g.padded_leaf_count, g.merkle_root, g.prev_state_root, g.new_state_root, g.sequence_start,
           g.sequence_end, now(), g.on_request
    FROM given g
    ORDER BY g.position
    RETURNING batch_id, tenant_id, store_id, stream_kind, ves_version, tree_depth, leaf_count, padded_leaf_count,
           merkle_root, prev_state_root, new_state_root, sequence_start, sequence_end, committed_at,
           chain_id, chain_tx_hash, chain_block_number, anchored_at, on_request
), checkpoints AS (
    INSERT INTO log_checkpoints (tenant_id, store_id, stream_kind, tree_size, root_hash, note, batch_id)
    SELECT g.tenant_id, g.store_id, %(stream_kind)s, g.tree_size, g.root_hash, g.note, g.batch_id
    FROM given g
    WHERE g.tree_size IS NOT NULL
    ON CONFLICT DO NOTHING
)
SELECT s.*
FROM sealed s
JOIN given g ON g.batch_id = s.batch_id
ORDER BY g.position
