-- Store newly completed hashes of the logs of one stream kind in their tiles (ves.tiles.TileWrite
-- with its stream: tile key, first hash position, packed hashes); several streams' writes in one
-- round trip. The writes' hashes arrive concatenated in one bytea with each write's start and
-- length: psycopg formats a bytea[] element by element as escaped text, which cost more than the
-- whole statement. A write at position 0 inserts the tile (or rewrites its prefix when retried);
-- a later position extends the stored tile with overlay(), which both appends and, for hashes
-- already stored, rewrites the same bytes, so the statement is idempotent. A write that would
-- leave a gap matches nothing and is missing from the count, which the caller checks. Runs under
-- each stream's COMMITMENT_STREAM lock in the commitments' transaction.
-- Index: log_tiles_pkey. Locks: the written rows. Rows: about one per 256 new leaves of a stream.
WITH w AS (
    SELECT u.tenant_id, u.store_id, u.tile_level, u.tile_index, u.byte_offset,
           substring(%(packed)s::bytea FROM u.start + 1 FOR u.length) AS hashes
    FROM unnest(%(tenant_ids)b::uuid[], %(store_ids)b::uuid[], %(tile_levels)b::smallint[],
                %(tile_indexes)b::bigint[], %(byte_offsets)b::integer[], %(starts)b::integer[],
                %(lengths)b::integer[])
         AS u(tenant_id, store_id, tile_level, tile_index, byte_offset, start, length)
), extended AS (
    UPDATE log_tiles t SET hashes = overlay(t.hashes PLACING w.hashes FROM w.byte_offset + 1)
    FROM w
    WHERE t.tenant_id = w.tenant_id AND t.store_id = w.store_id AND t.stream_kind = %(stream_kind)s
      AND t.tile_level = w.tile_level AND t.tile_index = w.tile_index
      AND w.byte_offset > 0 AND octet_length(t.hashes) >= w.byte_offset
    RETURNING 1
), created AS (
    INSERT INTO log_tiles AS t (tenant_id, store_id, stream_kind, tile_level, tile_index, hashes)
    SELECT w.tenant_id, w.store_id, %(stream_kind)s, w.tile_level, w.tile_index, w.hashes
    FROM w WHERE w.byte_offset = 0
    ON CONFLICT (tenant_id, store_id, stream_kind, tile_level, tile_index)
    DO UPDATE SET hashes = overlay(t.hashes PLACING excluded.hashes FROM 1)
    RETURNING 1
)
SELECT (SELECT count(*) FROM extended) + (SELECT count(*) FROM created)
