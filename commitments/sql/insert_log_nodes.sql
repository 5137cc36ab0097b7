-- Newly completed nodes of one stream's log (idempotent: a node never changes once complete).
-- Runs under the COMMITMENT_STREAM lock in the commitment's transaction. Locks: the new rows.
INSERT INTO log_nodes (tenant_id, store_id, stream_kind, level, index, hash)
SELECT %(tenant_id)s, %(store_id)s, %(stream_kind)s, level, index, hash
FROM unnest(%(levels)s::smallint[], %(indexes)s::bigint[], %(hashes)s::bytea[]) AS n(level, index, hash)
ON CONFLICT DO NOTHING
