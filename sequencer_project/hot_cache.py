"""In-process LRU+TTL caches invalidated across processes through a Redis version key.

Each cache has a generation counter in Redis (``hotcache:<name>:generation``). A process
reads it at most every ``HOT_CACHE_CHECK_SECONDS`` (default 0.25 s) and drops entries when it
changed; writers bump it after their commit (:meth:`HotCache.invalidate`). So a change is seen
by every process within that interval, at the cost of one Redis GET per interval per process,
not per request. Lookups that find the check due while one thread makes it wait for it (a
burst after an idle spell must not be answered from entries the check is about to drop).

A cache whose keys belong to a *scope* (a tenant: ``scope_of``) is invalidated by scope: the
writer's bump and a record of the scope it changed are one Redis script
(``hotcache:<name>:changes``, a sorted set of the last :data:`CHANGES_KEPT` bumps by
generation), and a process that sees the generation move reads which scopes changed since the
one it had and drops only their entries. So one tenant's schema writes cost the other tenants'
lookups nothing (an audit's noisy tenant caused 188 extra misses for the quiet ones). A bump
without a scope, a gap in the record (more than :data:`CHANGES_KEPT` bumps since, or a
generation this process never read) drops everything, as before.

Redis is never a reason to fail or wait: reads go through the ``redis`` circuit breaker
(50 ms socket timeout). While Redis cannot be read, entries are trusted for at most
``HOT_CACHE_DEGRADED_TTL_SECONDS`` (default 1 s) instead of the full TTL, so the 1-second
staleness bound holds without Redis too. Lookups are counted as Prometheus
``hot_cache_lookups_total{cache, outcome=hit|miss}``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.conf import settings
from prometheus_client import Counter

from sequencer_project.metrics import TALLY
from sequencer_project.redis_client import REDIS_UNAVAILABLE, guarded
from sequencer_project.resilience import CircuitOpenError

_UNAVAILABLE: tuple[type[BaseException], ...] = (CircuitOpenError, *REDIS_UNAVAILABLE)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

HOT_CACHE_LOOKUPS = Counter(
    "hot_cache_lookups", "In-process cache lookups, by cache and outcome.", ["cache", "outcome"]
)
HOT_CACHE_INVALIDATIONS = Counter(
    "hot_cache_invalidations", "Cache generations observed changing (entries dropped), by cache.", ["cache"]
)


@dataclass(slots=True)
class _Entry(Generic[V]):
    value: V
    loaded_at: float


# How many bumps of a scoped cache are recorded with their scope (a process further behind drops all).
CHANGES_KEPT = 1000
_EVERY_SCOPE = "*"
# INCR the generation and record the bumped scope under it, atomically: a reader that sees the new
# generation always finds its record. Returns the new generation.
_BUMP = """
local generation = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], generation, generation .. '|' .. ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[2]) + 1))
return generation
"""


class HotCache(Generic[K, V]):
    """A bounded LRU with a TTL whose entries every process drops when the generation moves:
    all of them, or (``scope_of`` given) those of the scopes changed since."""

    def __init__(
        self,
        name: str,
        *,
        max_entries: int,
        ttl_seconds: float,
        scope_of: Callable[[K], Hashable] | None = None,
    ) -> None:
        self.name = name
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self.scope_of = scope_of
        self._entries: OrderedDict[K, _Entry[V]] = OrderedDict()
        self._lock = threading.Lock()
        self._refresh_lock = threading.Lock()  # one generation check at a time; the others wait for it
        self._generation: bytes | None = None
        # Moves whenever entries are dropped: a load that began before a drop may hold what the
        # drop was for (a key revoked meanwhile), so its result is served but not kept.
        self._drops = 0
        self._checked_at = float("-inf")
        self._redis_ok = True
        self._hits = HOT_CACHE_LOOKUPS.labels(cache=name, outcome="hit")
        self._misses = HOT_CACHE_LOOKUPS.labels(cache=name, outcome="miss")

    @property
    def version_key(self) -> str:
        return f"hotcache:{self.name}:generation"

    @property
    def changes_key(self) -> str:
        return f"hotcache:{self.name}:changes"

    def _refresh_generation(self, now: float) -> None:
        """Read the shared generation when the last read is older than the check interval, and
        drop what it says changed. Threads that find the check due while another makes it wait
        for it: until the drop is done no lookup may serve an entry (the first requests after an
        idle spell once read entries revoked seconds before while one thread asked Redis)."""
        if now - self._checked_at < settings.HOT_CACHE_CHECK_SECONDS:
            return
        with self._refresh_lock:
            if now - self._checked_at < settings.HOT_CACHE_CHECK_SECONDS:  # made while this thread waited
                return
            try:
                generation = guarded(lambda client: client.get(self.version_key)) or b"0"  # no bump yet
                changed = None if generation == self._generation else self._scopes_changed(self._generation, generation)
            except _UNAVAILABLE:
                self._redis_ok = False
                self._checked_at = now
                return
            self._redis_ok = True
            if generation != self._generation:
                with self._lock:
                    if self._generation is not None or self._entries:
                        HOT_CACHE_INVALIDATIONS.labels(cache=self.name).inc()
                    if changed is None:
                        self._entries.clear()
                        self._drops += 1
                    else:
                        self._drop_scopes(changed)
                    self._generation = generation
            self._checked_at = now  # last: a lookup that skips the check finds the drop done

    def _drop_scopes(self, scopes: set[str]) -> None:
        """Drop the entries whose key's scope is one of ``scopes``. Caller holds the lock."""
        scope_of = self.scope_of
        assert scope_of is not None
        self._drops += 1
        for key in [key for key in self._entries if str(scope_of(key)) in scopes]:
            del self._entries[key]

    def _scopes_changed(self, seen: bytes | None, now: bytes) -> set[str] | None:
        """The scopes bumped after generation ``seen`` up to ``now``; ``None`` when that is not
        known (no scopes, nothing seen, a bump without a scope, or a record that no longer
        reaches back to ``seen``): everything is dropped then."""
        if self.scope_of is None or seen is None:  # None: this process has read no generation yet
            return None
        first, last = int(seen), int(now)
        if last <= first:  # the counter went back (Redis lost it): nothing can be trusted
            return None
        records = guarded(lambda client: client.zrangebyscore(self.changes_key, f"({first}", last))
        if len(records) != last - first:  # trimmed away, or a bump that recorded nothing
            return None
        scopes = {record.split(b"|", 1)[1].decode() for record in records}
        return None if _EVERY_SCOPE in scopes else scopes

    def get_many(self, keys: Iterable[K], load: Callable[[list[K]], dict[K, V]]) -> dict[K, V]:
        """Values for ``keys``; misses are loaded together by ``load`` (which must return every key)."""
        now = time.monotonic()
        self._refresh_generation(now)
        ttl = self.ttl_seconds if self._redis_ok else min(self.ttl_seconds, settings.HOT_CACHE_DEGRADED_TTL_SECONDS)
        found: dict[K, V] = {}
        missing: list[K] = []
        with self._lock:
            drops = self._drops
            for key in keys:
                entry = self._entries.get(key)
                if entry is not None and now - entry.loaded_at < ttl:
                    self._entries.move_to_end(key)
                    found[key] = entry.value
                else:
                    missing.append(key)
        if found:
            TALLY.inc(self._hits, len(found))
        if not missing:
            return found
        TALLY.inc(self._misses, len(missing))
        loaded = load(missing)
        with self._lock:
            if self._drops != drops:  # dropped while loading: what was loaded may be what was dropped
                found.update(loaded)
                return found
            for key in missing:
                self._entries[key] = _Entry(loaded[key], now)
                self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        found.update(loaded)
        return found

    def get(self, key: K, load: Callable[[K], V]) -> V:
        return self.get_many([key], lambda keys: {k: load(k) for k in keys})[key]

    def invalidate(self, scope: Hashable | None = None) -> None:
        """Drop this process's entries (of ``scope``, given one and a ``scope_of``; else all) and
        bump the shared generation, recording the scope (call after commit)."""
        recorded = _EVERY_SCOPE if scope is None or self.scope_of is None else str(scope)
        if recorded == _EVERY_SCOPE:
            self.clear()
        else:
            with self._lock:
                self._drop_scopes({recorded})
        # When Redis is unreadable, other processes already use the degraded TTL.
        with contextlib.suppress(*_UNAVAILABLE):
            if self.scope_of is None:
                guarded(lambda client: client.incr(self.version_key))
            else:
                keys, args = [self.version_key, self.changes_key], [recorded, CHANGES_KEPT]
                guarded(lambda client: client.eval(_BUMP, 2, *keys, *args))  # type: ignore[no-untyped-call]

    def clear(self) -> None:
        """Forget this process's entries (tests); the next lookup re-reads the generation."""
        with self._lock:
            self._entries.clear()
            self._drops += 1
            self._generation = None
            self._checked_at = float("-inf")

    def __len__(self) -> int:
        return len(self._entries)
