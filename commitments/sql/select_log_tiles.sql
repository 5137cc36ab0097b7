-- Tiles (tile_level, tile_index) of one stream's RFC 6962 log, in any order (the caller maps them
-- back); absent tiles are left out. Index: log_tiles_pkey, one full-key probe per requested tile
-- (about three for an inclusion proof in a 1,000,000-entry log). The LATERAL subquery with LIMIT
-- forces a nested loop driven by the requested keys, so the planner never scans the stream's
-- tiles instead. Each tile is one TOASTed value of at most 8 KB. Locks: none.
SELECT want.tile_level, want.tile_index, t.hashes
FROM unnest(%(tile_levels)b::smallint[], %(tile_indexes)b::bigint[]) AS want(tile_level, tile_index)
CROSS JOIN LATERAL (
    SELECT l.hashes FROM log_tiles l
    WHERE l.tenant_id = %(tenant_id)s AND l.store_id = %(store_id)s AND l.stream_kind = %(stream_kind)s
      AND l.tile_level = want.tile_level AND l.tile_index = want.tile_index
    LIMIT 1  -- unique anyway; keeps the subquery from being flattened into a join
) AS t
