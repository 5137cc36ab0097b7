"""Invalidation by scope (``sequencer_project/hot_cache.py``): one tenant's change drops that
tenant's entries in every process and no other tenant's, over real Redis.

Two ``HotCache`` objects of one name stand for two processes; what a lookup loads shows what each
still held. Before, any schema write of any tenant emptied every process's schema cache (an audit's
noisy tenant cost the quiet ones 188 extra misses).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from django.test import override_settings

from sequencer_project import hot_cache
from sequencer_project.hot_cache import HotCache

A, B = uuid.uuid4(), uuid.uuid4()


@pytest.fixture(autouse=True)
def _check_every_lookup() -> Iterator[None]:
    with override_settings(HOT_CACHE_CHECK_SECONDS=0):
        yield


def _pair(scoped: bool = True) -> tuple[HotCache[tuple[uuid.UUID, str], str], HotCache[tuple[uuid.UUID, str], str]]:
    name = f"test-scopes-{uuid.uuid4()}"
    scope = (lambda key: key[0]) if scoped else None
    return (
        HotCache(name, max_entries=100, ttl_seconds=60, scope_of=scope),
        HotCache(name, max_entries=100, ttl_seconds=60, scope_of=scope),
    )


def _loaded(
    cache: HotCache[tuple[uuid.UUID, str], str], keys: list[tuple[uuid.UUID, str]]
) -> list[tuple[uuid.UUID, str]]:
    """The keys a lookup of ``keys`` had to load (the rest were held)."""
    loads: list[tuple[uuid.UUID, str]] = []

    def load(missing: list[tuple[uuid.UUID, str]]) -> dict[tuple[uuid.UUID, str], str]:
        loads.extend(missing)
        return {key: "value" for key in missing}

    cache.get_many(keys, load)
    return loads


KEYS = [(A, "order.created"), (A, "order.paid"), (B, "order.created")]


def test_a_scoped_change_drops_that_scope_in_another_process_and_nothing_else() -> None:
    reader, writer = _pair()
    assert _loaded(reader, KEYS) == KEYS
    assert _loaded(reader, KEYS) == []

    writer.invalidate(A)

    assert _loaded(reader, KEYS) == [(A, "order.created"), (A, "order.paid")]
    assert _loaded(reader, KEYS) == []


def test_changes_of_several_scopes_between_two_looks_are_all_seen() -> None:
    reader, writer = _pair()
    _loaded(reader, KEYS)

    writer.invalidate(A)
    writer.invalidate(B)

    assert _loaded(reader, KEYS) == KEYS


def test_a_change_without_a_scope_drops_everything() -> None:
    reader, writer = _pair()
    _loaded(reader, KEYS)

    writer.invalidate()

    assert _loaded(reader, KEYS) == KEYS


def test_a_process_further_behind_than_the_record_drops_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hot_cache, "CHANGES_KEPT", 2)
    reader, writer = _pair()
    _loaded(reader, KEYS)

    for _ in range(3):  # three bumps of A; the record keeps two: B's entry may have changed too
        writer.invalidate(A)

    assert _loaded(reader, KEYS) == KEYS


def test_a_bump_that_recorded_no_scope_drops_everything() -> None:
    # an older process bumps the bare counter (a rolling upgrade): the record has a gap
    reader, writer = _pair()
    unscoped: HotCache[tuple[uuid.UUID, str], str] = HotCache(reader.name, max_entries=100, ttl_seconds=60)
    _loaded(reader, KEYS)

    writer.invalidate(A)
    unscoped.invalidate()

    assert _loaded(reader, KEYS) == KEYS


def test_a_cache_without_scopes_drops_everything_on_any_change() -> None:
    reader, writer = _pair(scoped=False)
    _loaded(reader, KEYS)

    writer.invalidate(A)

    assert _loaded(reader, KEYS) == KEYS
