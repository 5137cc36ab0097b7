-- Store newly completed hashes of one stream's log in its tiles (ves.tiles.TileWrite: tile key,
-- first hash position, packed hashes). The writes' hashes arrive concatenated in one bytea with
-- each write's start and length: psycopg formats a bytea[] element by element as escaped text,
-- which cost more than the whole statement. A write at position 0 inserts the tile (or rewrites its
-- prefix when retried); a later position extends the stored tile with overlay(), which both
-- appends and, for hashes already stored, rewrites the same bytes, so the statement is
-- idempotent. A write that would leave a gap matches nothing and is missing from the count, which
-- the caller checks. Runs under the COMMITMENT_STREAM lock in the commitment's transaction.
-- Index: log_tiles_pkey. Locks: the written rows. Rows: about one per 256 new leaves.
WITH w AS (
    SELECT u.tile_level, u.tile_index, u.byte_offset, substring(%(packed)s::bytea FROM u.start + 1 FOR u.length) AS hashes
    FROM unnest(%(tile_levels)b::smallint[], %(tile_indexes)b::bigint[], %(byte_offsets)b::integer[],
                %(starts)b::integer[], %(lengths)b::integer[]) AS u(tile_level, tile_index, byte_offset, start, length)
), extended AS (
    UPDATE log_tiles t SET hashes = overlay(t.hashes PLACING w.hashes FROM w.byte_offset + 1)
    FROM w
    WHERE t.tenant_id = %(tenant_id)s AND t.store_id = %(store_id)s AND t.stream_kind = %(stream_kind)s
      AND t.tile_level = w.tile_level AND t.tile_index = w.tile_index
      AND w.byte_offset > 0 AND octet_length(t.hashes) >= w.byte_offset
    RETURNING 1
), created AS (
    INSERT INTO log_tiles AS t (tenant_id, store_id, stream_kind, tile_level, tile_index, hashes)
    SELECT %(tenant_id)s, %(store_id)s, %(stream_kind)s, w.tile_level, w.tile_index, w.hashes
    FROM w WHERE w.byte_offset = 0
    ON CONFLICT (tenant_id, store_id, stream_kind, tile_level, tile_index)
    DO UPDATE SET hashes = overlay(t.hashes PLACING excluded.hashes FROM 1)
    RETURNING 1
)
SELECT (SELECT count(*) FROM extended) + (SELECT count(*) FROM created)
