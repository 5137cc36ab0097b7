"""The RFC 6962 log moves from one row per node to tiles (ADR 0013; ``commitments/sql/schema_0003.py``).

Forward: create ``log_tiles``, pack every eighth level of ``log_nodes`` into it, drop ``log_nodes``.
Backward: recreate ``log_nodes`` and expand each tile into every node it determines (the levels
in between are recomputed), then drop ``log_tiles``. Roots and proofs are the same either way.
"""

from typing import Any

from django.db import migrations

from commitments.sql import schema_0002, schema_0003
from ves.tiles import tile_nodes


def expand_tiles_to_nodes(apps: Any, schema_editor: Any) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(schema_0003.SELECT_ALL_TILES)
        tiles = cursor.fetchall()
        for tenant_id, store_id, kind, tile_level, tile_index, hashes in tiles:
            nodes = tile_nodes((tile_level, tile_index), bytes(hashes))
            cursor.execute(
                schema_0003.INSERT_EXPANDED_NODES,
                {
                    "tenant_id": tenant_id,
                    "store_id": store_id,
                    "stream_kind": kind,
                    "levels": [level for (level, _), _ in nodes],
                    "indexes": [index for (_, index), _ in nodes],
                    "hashes": [value for _, value in nodes],
                },
            )


class Migration(migrations.Migration):
    dependencies = [("commitments", "0002_transparency_log")]

    operations = [
        migrations.RunSQL(schema_0003.CREATE_LOG_TILES, schema_0003.DROP_LOG_TILES),
        migrations.RunSQL(schema_0003.COPY_NODES_TO_TILES, migrations.RunSQL.noop),
        migrations.RunPython(migrations.RunPython.noop, expand_tiles_to_nodes),
        migrations.RunSQL(schema_0003.DROP_LOG_NODES, schema_0002.CREATE_LOG_NODES),
    ]
