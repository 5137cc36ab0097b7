"""A value loaded while the cache dropped entries is served but not kept
(``sequencer_project/hot_cache.py``).

A key-revocation audit: thread X of a worker read a key row while it was still active, the revoke
committed and bumped the generation, thread Y saw the bump and emptied the cache, then X stored
its stale "active" row under the new generation, where it stayed for the cache's TTL (300 s for
agent keys) instead of the 1 s docs/auth.md promises. Two threads over real Redis, in one process,
as in a gunicorn worker.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from django.test import override_settings

from sequencer_project.hot_cache import HotCache


@pytest.fixture(autouse=True)
def _check_every_lookup() -> Iterator[None]:
    with override_settings(HOT_CACHE_CHECK_SECONDS=0):
        yield


@pytest.mark.parametrize("scoped", [False, True])
def test_a_load_that_a_drop_overtook_is_not_kept(scoped: bool) -> None:
    tenant = uuid.uuid4()
    cache: HotCache[tuple[uuid.UUID, str], str] = HotCache(
        f"test-race-{uuid.uuid4()}", max_entries=100, ttl_seconds=300, scope_of=(lambda key: key[0]) if scoped else None
    )
    key = (tenant, "agent-key-1")
    reading, revoked = threading.Event(), threading.Event()
    stored = {"status": "active"}

    def slow_load(missing: list[tuple[uuid.UUID, str]]) -> dict[tuple[uuid.UUID, str], str]:
        value = stored["status"]  # X reads the row while the key is still active
        reading.set()
        assert revoked.wait(10)  # ... and only gets to store it after the revoke
        return dict.fromkeys(missing, value)

    def revoke_and_look_up() -> None:  # the revoking request, then thread Y's lookup
        assert reading.wait(10)
        stored["status"] = "revoked"
        cache.invalidate(tenant if scoped else None)  # after commit: drop here, bump for all
        assert cache.get(key, lambda _key: stored["status"]) == "revoked"
        revoked.set()

    other = threading.Thread(target=revoke_and_look_up)
    other.start()
    assert cache.get_many([key], slow_load) == {key: "active"}  # served as read, before the revoke
    other.join(10)
    loads: list[str] = []

    def load_again(missing: list[tuple[uuid.UUID, str]]) -> dict[tuple[uuid.UUID, str], str]:
        loads.append("load")
        return dict.fromkeys(missing, stored["status"])

    assert cache.get_many([key], load_again) == {key: "revoked"}


def test_a_load_no_drop_overtook_is_kept() -> None:
    cache: HotCache[str, int] = HotCache(f"test-race-{uuid.uuid4()}", max_entries=10, ttl_seconds=300)
    assert cache.get("k", lambda _key: 1) == 1
    assert cache.get("k", lambda _key: 2) == 1  # held


@override_settings(HOT_CACHE_CHECK_SECONDS=0.2)
def test_lookups_while_another_thread_reads_the_generation_wait_for_its_drop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After an idle spell the first lookups find the check due; one thread reads Redis, and the
    others once served their stale entries meanwhile (a key revoked seconds before). Real Redis;
    the first read of the generation is held until the second lookup has begun."""
    from sequencer_project import hot_cache
    from sequencer_project.redis_client import guarded

    cache: HotCache[str, str] = HotCache(f"test-race-{uuid.uuid4()}", max_entries=10, ttl_seconds=300)
    stored = {"key": "active"}
    assert cache.get("key", lambda _key: stored["key"]) == "active"
    stored["key"] = "revoked"  # another process revoked it and bumped the generation
    guarded(lambda client: client.incr(cache.version_key))
    time.sleep(0.25)  # an idle spell: the next lookup finds the check due
    asking, answered = threading.Event(), threading.Event()

    def held_read(operation: object) -> object:
        if not asking.is_set():
            asking.set()
            assert answered.wait(10)
        return guarded(operation)  # type: ignore[arg-type]

    monkeypatch.setattr(hot_cache, "guarded", held_read)
    results: dict[str, str] = {}
    first = threading.Thread(target=lambda: results.update(first=cache.get("key", lambda _key: stored["key"])))
    first.start()
    assert asking.wait(10)
    second = threading.Thread(target=lambda: results.update(second=cache.get("key", lambda _key: stored["key"])))
    second.start()
    second.join(0.3)  # it must wait for the first thread's check, not answer from the old entry
    assert "second" not in results
    answered.set()
    first.join(10)
    second.join(10)

    assert results == {"first": "revoked", "second": "revoked"}
