-- Newly completed nodes of one stream's log (idempotent: a node never changes once complete).
-- The nodes arrive packed in one bytea of 41-byte records (U8 level, U64 index, 32-byte hash):
-- one parameter instead of three arrays of up to 20,000 elements each, which psycopg would
-- otherwise spend seconds formatting as text. Runs under the COMMITMENT_STREAM lock in the
-- commitment's transaction. Locks: the new rows.
INSERT INTO log_nodes (tenant_id, store_id, stream_kind, level, index, hash)
SELECT %(tenant_id)s, %(store_id)s, %(stream_kind)s,
       get_byte(rec.r, 0)::smallint,
       ('x' || encode(substring(rec.r FROM 2 FOR 8), 'hex'))::bit(64)::bigint,
       substring(rec.r FROM 10 FOR 32)
FROM (SELECT substring(%(records)s::bytea FROM i * 41 + 1 FOR 41) AS r
      FROM generate_series(0, %(count)s - 1) AS i) AS rec
ON CONFLICT DO NOTHING
