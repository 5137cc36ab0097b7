"""Micro-benchmarks of the proof library (``ves.merkle``, ``ves.legacy_merkle``, ``ves.rfc6962``).

Run: ``.venv/bin/python scripts/bench_merkle.py [--repeat N] [--log-size N]``. Prints medians of
``time.perf_counter`` samples. These are benchmarks, not tests: nothing fails on a slow machine.

* ``merkle_tree_build``: building a VES tree from leaf hashes, for 100 / 1,000 / 10,000 leaves
  (plus, for comparison, the legacy tree, the RFC 6962 root and the VES leaf hashing itself).
* ``merkle_proof_gen``: one VES inclusion proof from a built 10,000-leaf tree, and one RFC 6962
  inclusion and one consistency proof from a ``MerkleLog`` over an in-memory node store of
  ``--log-size`` leaves (default 1,000,000). The one-off log build is timed separately, once.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import time
import uuid
from collections.abc import Callable
from functools import partial

from ves import legacy_merkle, merkle, rfc6962


def median_ms(function: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def median_us_each(functions: list[Callable[[], object]]) -> float:
    samples = []
    for function in functions:
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def fake_leaves(count: int) -> list[bytes]:
    return [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(count)]


def hash_leaves(count: int) -> list[bytes]:
    """VES leaf hashes of ``count`` events of one stream (what a commitment computes first)."""
    tenant, store = uuid.UUID(int=1), uuid.UUID(int=2)
    signature, signing_hash = bytes(64), bytes(32)
    return [
        merkle.leaf_hash(
            tenant_id=tenant,
            store_id=store,
            sequence_number=seq,
            event_signing_hash=signing_hash,
            agent_signature=signature,
        )
        for seq in range(1, count + 1)
    ]


def bench_tree_build(repeat: int) -> None:
    print("merkle_tree_build (median of", repeat, "runs)")
    for count in (100, 1_000, 10_000):
        leaves = fake_leaves(count)
        ves_ms = median_ms(partial(merkle.build_tree, leaves), repeat)
        legacy_ms = median_ms(partial(legacy_merkle.build_tree, leaves), repeat)
        rfc_ms = median_ms(partial(rfc6962.root, leaves), repeat)
        leaf_ms = median_ms(partial(hash_leaves, count), repeat)
        print(
            f"  {count:>6} leaves: VES tree {ves_ms:8.3f} ms | legacy tree {legacy_ms:8.3f} ms"
            f" | RFC 6962 root {rfc_ms:8.3f} ms | VES leaf hashing {leaf_ms:8.3f} ms"
        )


def bench_proof_gen(repeat: int, log_size: int) -> None:
    rng = random.Random(7)  # noqa: S311 - benchmark positions, not secrets
    print(f"merkle_proof_gen (median over {repeat} random positions)")
    tree = merkle.build_tree(fake_leaves(10_000))
    indices = [rng.randrange(10_000) for _ in range(repeat)]
    ves_us = median_us_each([partial(tree.proof, index) for index in indices])
    print(f"  VES inclusion proof, 10,000-leaf tree: {ves_us:8.2f} us")

    store = rfc6962.InMemoryNodeStore()
    log = rfc6962.MerkleLog(store)
    leaves = fake_leaves(log_size)
    start = time.perf_counter()
    for offset in range(0, log_size, 10_000):
        log.append(leaves[offset : offset + 10_000])
    build_s = time.perf_counter() - start
    del leaves
    print(
        f"  RFC 6962 log of {log_size:,} leaves: one-off build {build_s:.2f} s in batches of 10,000"
        f" ({store.node_count():,} nodes stored)"
    )
    reads_before = store.reads
    indices = [rng.randrange(log_size) for _ in range(repeat)]
    inclusion_us = median_us_each([partial(log.inclusion_proof, index) for index in indices])
    inclusion_reads = (store.reads - reads_before) / repeat
    reads_before = store.reads
    old_sizes = [rng.randrange(1, log_size) for _ in range(repeat)]
    consistency_us = median_us_each([partial(log.consistency_proof, old) for old in old_sizes])
    consistency_reads = (store.reads - reads_before) / repeat
    print(f"  RFC 6962 inclusion proof from the store:   {inclusion_us:8.2f} us ({inclusion_reads:.1f} reads avg)")
    print(f"  RFC 6962 consistency proof from the store: {consistency_us:8.2f} us ({consistency_reads:.1f} reads avg)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=21, help="samples per figure (default 21)")
    parser.add_argument("--log-size", type=int, default=1_000_000, help="RFC 6962 log size (default 1,000,000)")
    args = parser.parse_args()
    bench_tree_build(args.repeat)
    bench_proof_gen(max(args.repeat, 101), args.log_size)


if __name__ == "__main__":
    main()
