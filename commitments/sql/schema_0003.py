"""Raw DDL of migration 0003: the RFC 6962 log stored as tiles instead of one row per node.

ADR 0013. Tile ``(tile_level, tile_index)`` packs the hashes of nodes
``(tile_level · 8, tile_index · 256 + j)``, ``j = 0 … 255``, 32 bytes each (``ves.tiles``). Only a
stream's last tile of each stored level is ever partial; it grows at its end under the stream's
COMMITMENT_STREAM lock and its existing prefix never changes.
"""

CREATE_LOG_TILES = """
CREATE TABLE log_tiles (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    stream_kind smallint NOT NULL CHECK (stream_kind IN (1, 2)),
    tile_level smallint NOT NULL CHECK (tile_level BETWEEN 0 AND 7),
    tile_index bigint NOT NULL CHECK (tile_index >= 0),
    hashes bytea NOT NULL CHECK (octet_length(hashes) BETWEEN 32 AND 8192 AND octet_length(hashes) % 32 = 0),
    CONSTRAINT log_tiles_pkey PRIMARY KEY (tenant_id, store_id, stream_kind, tile_level, tile_index)
);
-- SHA-256 output does not compress: skip pglz's attempt on every 8 KB tile.
ALTER TABLE log_tiles ALTER COLUMN hashes SET STORAGE EXTERNAL;
"""
DROP_LOG_TILES = "DROP TABLE log_tiles;"

# Existing logs: the nodes of every eighth level, packed 256 to a tile in index order. The nodes
# of a level are stored contiguously from index 0 (every complete node is written), so each
# group is a whole tile, or the level's last, partial one.
COPY_NODES_TO_TILES = """
INSERT INTO log_tiles (tenant_id, store_id, stream_kind, tile_level, tile_index, hashes)
SELECT tenant_id, store_id, stream_kind, level / 8, index / 256, string_agg(hash, ''::bytea ORDER BY index)
FROM log_nodes
WHERE level % 8 = 0
GROUP BY tenant_id, store_id, stream_kind, level, index / 256;
"""
DROP_LOG_NODES = "DROP TABLE log_nodes;"

# Backward migration only: every stored tile, and the nodes one tile expands to.
SELECT_ALL_TILES = """
SELECT tenant_id, store_id, stream_kind, tile_level, tile_index, hashes FROM log_tiles
ORDER BY tenant_id, store_id, stream_kind, tile_level, tile_index;
"""
INSERT_EXPANDED_NODES = """
INSERT INTO log_nodes (tenant_id, store_id, stream_kind, level, index, hash)
SELECT %(tenant_id)s, %(store_id)s, %(stream_kind)s, n.level, n.index, n.hash
FROM unnest(%(levels)s::smallint[], %(indexes)s::bigint[], %(hashes)s::bytea[]) AS n(level, index, hash)
ON CONFLICT DO NOTHING;
"""
