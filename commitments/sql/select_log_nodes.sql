-- Nodes (level, index) of one stream's RFC 6962 log, in any order (the caller maps them back).
-- Index: log_nodes_pkey, one full-key probe per requested node (about 2 log2 n of them). The
-- LATERAL subquery with LIMIT forces a nested loop driven by the requested ids, so the planner
-- can never scan the stream's whole node range instead (it did, with stale statistics).
-- Locks: none.
SELECT want.level, want.index, n.hash
FROM unnest(%(levels)s::smallint[], %(indexes)s::bigint[]) AS want(level, index)
CROSS JOIN LATERAL (
    SELECT l.hash FROM log_nodes l
    WHERE l.tenant_id = %(tenant_id)s AND l.store_id = %(store_id)s AND l.stream_kind = %(stream_kind)s
      AND l.level = want.level AND l.index = want.index
    LIMIT 1  -- unique anyway; keeps the subquery from being flattened into a join
) AS n
