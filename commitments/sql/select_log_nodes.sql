-- Nodes (level, index) of one stream's RFC 6962 log, in any order (the caller maps them back).
-- Index: log_nodes_pkey, one probe per requested node (about 2 log2 n of them). Locks: none.
SELECT n.level, n.index, n.hash
FROM log_nodes n
JOIN unnest(%(levels)s::smallint[], %(indexes)s::bigint[]) AS want(level, index)
  ON n.level = want.level AND n.index = want.index
WHERE n.tenant_id = %(tenant_id)s AND n.store_id = %(store_id)s AND n.stream_kind = %(stream_kind)s
