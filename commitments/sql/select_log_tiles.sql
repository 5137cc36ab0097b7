-- Tiles of the RFC 6962 logs of one stream kind, each asked for by stream and (tile_level,
-- tile_index): one row per tile found, named by its position in the arrays (from 1; the caller
-- maps them back); absent tiles are left out. Several streams' tiles in one round trip (a
-- commitment tick reads the frontiers of every log it grows at once). Index: log_tiles_pkey, one
-- full-key probe per requested tile (about three for an inclusion proof in a 1,000,000-entry
-- log). The LATERAL subquery with LIMIT forces a nested loop driven by the requested keys, so
-- the planner never scans a stream's tiles instead. Each tile is one TOASTed value of at most
-- 8 KB. Locks: none.
SELECT want.position, t.hashes
FROM unnest(%(tenant_ids)b::uuid[], %(store_ids)b::uuid[], %(tile_levels)b::smallint[], %(tile_indexes)b::bigint[])
     WITH ORDINALITY AS want(tenant_id, store_id, tile_level, tile_index, position)
CROSS JOIN LATERAL (
    SELECT l.hashes FROM log_tiles l
    WHERE l.tenant_id = want.tenant_id AND l.store_id = want.store_id AND l.stream_kind = %(stream_kind)s
      AND l.tile_level = want.tile_level AND l.tile_index = want.tile_index
    LIMIT 1  -- unique anyway; keeps the subquery from being flattened into a join
) AS t
