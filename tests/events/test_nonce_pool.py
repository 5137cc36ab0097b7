"""The nonce pool behind every AES-GCM seal: fresh bytes for every caller, in every thread and
in a forked child (a repeated nonce under one key breaks GCM)."""

from __future__ import annotations

import os
import threading

from events.nonce_pool import NONCE_BYTES, POOL_BYTES, random_nonce


def test_nonces_are_distinct_across_refills() -> None:
    count = 3 * POOL_BYTES // NONCE_BYTES + 5  # crosses three refills
    nonces = [random_nonce() for _ in range(count)]

    assert {len(n) for n in nonces} == {NONCE_BYTES}
    assert len(set(nonces)) == count


def test_threads_drawing_together_never_share_a_nonce() -> None:
    per_thread, threads = 2_000, 8
    drawn: list[list[bytes]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads)

    def draw(slot: list[bytes]) -> None:
        start.wait()
        slot.extend(random_nonce() for _ in range(per_thread))

    workers = [threading.Thread(target=draw, args=(slot,)) for slot in drawn]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    everything = [n for slot in drawn for n in slot]
    assert len(everything) == per_thread * threads
    assert len(set(everything)) == len(everything)


def test_a_forked_child_does_not_reuse_the_parents_buffered_nonces() -> None:
    random_nonce()  # the buffer now holds the parent's next nonces
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            os.write(write_end, b"".join(random_nonce() for _ in range(4)))
        finally:
            os._exit(0)
    os.close(write_end)
    child_nonces = os.read(read_end, 4 * NONCE_BYTES)
    os.close(read_end)
    os.waitpid(child, 0)
    parent_nonces = b"".join(random_nonce() for _ in range(4))

    assert len(child_nonces) == 4 * NONCE_BYTES
    assert child_nonces != parent_nonces
