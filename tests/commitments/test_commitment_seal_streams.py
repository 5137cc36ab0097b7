"""Sealing several streams in one transaction (``commitment_seal_streams``, the tick's path).

Each stream must get exactly the link, log growth and checkpoint it would get sealed alone:
checked here against roots computed in memory from the stored leaves, across two rounds (the
second extends logs whose frontier tiles were read for all streams at once, one of them past a
tile boundary). A group with a stream that cannot be sealed rolls back and the tick seals the
others one by one. Overlapping groups sealed concurrently never deadlock and seal each range once.
"""

from __future__ import annotations

import random
import threading
import uuid

import pytest
from django.db import connection, connections
from django.test import override_settings

from commitments.selectors import PendingStream, chain_tip, leaf_hashes
from commitments.services.commitments import commitment_seal_streams
from commitments.services.sealing import _transactions
from commitments.tasks import commitment_tick
from commitments.transparency import checkpoint_get, log_open
from streams.kinds import StreamKind
from tests.conftest import IngestPoster, Persona, legacy_event
from ves import legacy_merkle, rfc6962
from ves import merkle as ves_merkle
from ves.hashes import ZERO_HASH, stream_id

LEGACY = StreamKind.LEGACY


def _ingest(owner: Persona, post_ingest: IngestPoster, store: uuid.UUID, n: int) -> None:
    for start in range(0, n, 100):
        body = {"events": [legacy_event(owner.tenant_id, store) for _ in range(min(100, n - start))]}
        assert post_ingest(owner.client, body).status_code == 200


def _check_stream(owner: Persona, store: uuid.UUID, head: int) -> None:
    """The stream's chain reaches ``head``, each link's roots follow from the stored leaves, and
    the log and its checkpoint hold every leaf with proofs that verify."""
    tip = chain_tip(tenant_id=owner.tenant_id, store_id=store, kind=LEGACY)
    assert tip.last is not None
    assert tip.last.sequence_end == head
    link = tip.last
    leaves = leaf_hashes(
        tenant_id=owner.tenant_id, store_id=store, kind=LEGACY, sequence_start=link.sequence_start, sequence_end=head
    )
    assert link.merkle_root == legacy_merkle.events_root(leaves)
    all_leaves = leaf_hashes(
        tenant_id=owner.tenant_id, store_id=store, kind=LEGACY, sequence_start=1, sequence_end=head
    )
    log_leaves = [rfc6962.leaf_hash(leaf) for leaf in all_leaves]
    checkpoint = checkpoint_get(tenant_id=owner.tenant_id, store_id=store, kind=LEGACY, tree_size=None)
    assert checkpoint is not None
    assert (checkpoint.tree_size, checkpoint.batch_id) == (head, link.batch_id)
    assert checkpoint.root_hash == rfc6962.root(log_leaves)
    log = log_open(tenant_id=owner.tenant_id, store_id=store, kind=LEGACY, size=head, proofs_only=True)
    for index in {0, head // 2, head - 1}:
        proof = log.inclusion_proof(index)
        assert rfc6962.verify_inclusion(
            leaf_index=index, tree_size=head, leaf_hash=log_leaves[index], proof=proof, root=checkpoint.root_hash
        )


@pytest.mark.django_db
def test_streams_sealed_together_get_what_each_would_get_alone(owner: Persona, post_ingest: IngestPoster) -> None:
    stores = [uuid.uuid4() for _ in range(4)]
    first = [1, 3, 5, 250]
    for store, n in zip(stores, first, strict=True):
        _ingest(owner, post_ingest, store, n)
    quiet = uuid.uuid4()  # a stream with nothing new gets no link

    rows = commitment_seal_streams(
        kind=LEGACY, streams=[(owner.tenant_id, s) for s in [*stores, quiet]], max_events=10_000
    )

    assert [(r.store_id, r.sequence_start, r.sequence_end, r.on_request) for r in rows] == [
        (s, 1, n, False) for s, n in zip(stores, first, strict=True)
    ]
    for row in rows:
        assert row.prev_state_root == ZERO_HASH
        assert row.new_state_root == ves_merkle.state_root(
            stream_id=stream_id(owner.tenant_id, row.store_id),
            prev_state_root=ZERO_HASH,
            merkle_root=row.merkle_root,
            sequence_start=1,
            sequence_end=row.sequence_end,
            leaf_count=row.leaf_count,
        )
    for store, n in zip(stores, first, strict=True):
        _check_stream(owner, store, n)

    more = [2, 0, 7, 20]  # the last crosses the first tile's end (256 leaves)
    for store, n in zip(stores, more, strict=True):
        _ingest(owner, post_ingest, store, n)
    second = commitment_seal_streams(kind=LEGACY, streams=[(owner.tenant_id, s) for s in stores], max_events=4)

    assert [(r.store_id, r.sequence_start, r.sequence_end) for r in second] == [
        (stores[0], 2, 3),
        (stores[2], 6, 9),
        (stores[3], 251, 254),
    ]
    by_store = {r.store_id: r for r in rows}
    for row in second:
        assert row.prev_state_root == by_store[row.store_id].new_state_root
        _check_stream(owner, row.store_id, row.sequence_end)


@pytest.mark.django_db
def test_a_stream_that_cannot_be_sealed_holds_no_other_back(owner: Persona, post_ingest: IngestPoster) -> None:
    good = [uuid.uuid4() for _ in range(3)]
    for store in good:
        _ingest(owner, post_ingest, store, 2)
    broken = uuid.uuid4()  # a head with no events stored: its seal fails (events missing)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO sequence_counters (tenant_id, store_id, stream_kind, current_sequence, updated_at)"
            " VALUES (%s, %s, 1, 3, now())",
            [owner.tenant_id, broken],
        )

    due = commitment_tick()

    assert due is not None
    assert due >= 4
    assert [chain_tip(tenant_id=owner.tenant_id, store_id=s, kind=LEGACY).next_start for s in good] == [3, 3, 3]
    assert chain_tip(tenant_id=owner.tenant_id, store_id=broken, kind=LEGACY).last is None


@pytest.mark.django_db(transaction=True)
def test_overlapping_groups_sealed_at_once_never_deadlock_and_seal_each_range_once(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    stores = [uuid.uuid4() for _ in range(6)]
    for store in stores:
        _ingest(owner, post_ingest, store, 3)
    errors: list[BaseException] = []
    sealed: list[int] = []

    def seal(order: list[uuid.UUID]) -> None:
        try:
            rows = commitment_seal_streams(kind=LEGACY, streams=[(owner.tenant_id, s) for s in order], max_events=10)
            sealed.append(len(rows))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    orders = [random.Random(seed).sample(stores, k=4 + seed % 3) for seed in range(6)]
    threads = [threading.Thread(target=seal, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    covered = set().union(*orders)
    assert sum(sealed) == len(covered)  # each stream's range sealed by exactly one of them
    for store in covered:
        tip = chain_tip(tenant_id=owner.tenant_id, store_id=store, kind=LEGACY)
        assert tip.last is not None
        assert (tip.last.sequence_start, tip.last.sequence_end) == (1, 3)


def test_the_tick_groups_streams_of_one_kind_up_to_the_event_budget() -> None:
    def due(kind: StreamKind, behind: int) -> PendingStream:
        return PendingStream(uuid.uuid4(), uuid.uuid4(), kind, behind, 0)

    streams = [
        due(LEGACY, 6),
        due(StreamKind.VES, 3),
        due(LEGACY, 5),
        due(LEGACY, 50),  # alone: over the budget by itself, capped at COMMITMENT_MAX_EVENTS
        due(StreamKind.VES, 4),
        due(LEGACY, 1),
    ]
    with override_settings(COMMITMENT_TRANSACTION_EVENTS=12, COMMITMENT_MAX_EVENTS=20):
        groups = _transactions(streams)

    assert [[streams.index(s) for s in group] for group in groups] == [[0, 2], [1, 4], [3], [5]]
    assert all(len({s.kind for s in group}) == 1 for group in groups)
