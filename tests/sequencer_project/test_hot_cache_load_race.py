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
