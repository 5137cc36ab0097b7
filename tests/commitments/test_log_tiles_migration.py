"""Migration 0003 packs an existing node-per-row log into tiles, and expands it back, losslessly."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from commitments.transparency import log_open
from streams.kinds import StreamKind
from ves import rfc6962

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("commitments", "0002_transparency_log")]
AFTER = [("commitments", "0003_log_tiles")]


def _migrate(targets: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.fixture
def at_0002() -> Iterator[None]:
    _migrate(BEFORE)
    yield
    _migrate(executor_leaf_nodes())


def executor_leaf_nodes() -> list[tuple[str, str]]:
    return list(MigrationExecutor(connection).loader.graph.leaf_nodes())


def _insert_nodes(tenant: uuid.UUID, store: uuid.UUID, nodes: list[tuple[tuple[int, int], bytes]]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO log_nodes (tenant_id, store_id, stream_kind, level, index, hash)"
            " SELECT %s, %s, 2, l, i, h FROM unnest(%s::smallint[], %s::bigint[], %s::bytea[]) AS n(l, i, h)",
            [tenant, store, [n[0][0] for n in nodes], [n[0][1] for n in nodes], [n[1] for n in nodes]],
        )


def _stored_nodes(tenant: uuid.UUID, store: uuid.UUID) -> dict[tuple[int, int], bytes]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT level, index, hash FROM log_nodes WHERE tenant_id = %s AND store_id = %s", [tenant, store]
        )
        return {(level, index): bytes(h) for level, index, h in cursor.fetchall()}


def test_existing_logs_keep_their_roots_and_proofs_across_the_migration(at_0002: None) -> None:
    tenant, store = uuid.uuid4(), uuid.uuid4()
    count = 70_001  # three stored levels, a partial tile on each
    leaves = [rfc6962.leaf_hash(hashlib.sha256(i.to_bytes(4, "big")).digest()) for i in range(count)]
    full = rfc6962.InMemoryNodeStore()
    old_log = rfc6962.MerkleLog(full, 0)
    old_log.append(leaves[:40_000])
    old_log.append(leaves[40_000:])
    nodes = [((level, index), value) for level in range(64) for index, value in enumerate(_level(full, level))]
    _insert_nodes(tenant, store, nodes)

    _migrate(AFTER)
    log = log_open(tenant_id=tenant, store_id=store, kind=StreamKind.VES, size=count)
    for size in (1, 256, 40_000, 65_536, count):
        assert log.root(size) == old_log.root(size)
    for index in (0, 300, 65_535, count - 1):
        assert log.inclusion_proof(index) == old_log.inclusion_proof(index)
    assert log.consistency_proof(40_000) == old_log.consistency_proof(40_000)

    _migrate(BEFORE)
    assert _stored_nodes(tenant, store) == dict(nodes)


def _level(store: rfc6962.InMemoryNodeStore, level: int) -> list[bytes]:
    values: list[bytes] = []
    while True:
        try:
            values.append(store.get_nodes([(level, len(values))])[0])
        except KeyError:
            return values
