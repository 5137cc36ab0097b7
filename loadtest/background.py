"""Is the background keeping up? Projection and commitment lag sampled once a second.

* projection lag: a stream's head minus the projection's checkpoint, the largest over all
  streams, per projection (``events/sql/select_projection_lag_max.sql``, the
  ``projection_lag_events`` gauge's query), for each projection in ``PROJECTIONS``;
* commitment lag: sequenced but uncommitted events, the largest over all streams and their sum
  (``commitments/sql/select_commitment_lag.sql``, whose largest is what ``commitment_tick`` publishes);
* the projection lag summed over all streams (``loadtest/sql/select_projection_lag_total.sql``):
  with the commitment sum, the backlog;
* events sequenced so far (``loadtest/sql/select_sequenced_total.sql``), for the throughput series;
* each lag in time: how long ago the oldest event not yet projected (or not yet committed) of
  any legacy stream was sequenced (``loadtest/sql/select_projection_lag_age.sql``,
  ``select_commitment_lag_age.sql``), what "lag < 5 s" is about.

All three read the service's database directly (one connection, autocommit), so a sample does
not depend on beat publishing the gauge. ``summarize`` is pure (unit-tested).
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from commitments.sql import SELECT_COMMITMENT_LAG
from events.sql import SELECT_PROJECTION_LAG_MAX
from loadtest.sql import (
    SELECT_COMMITMENT_LAG_AGE,
    SELECT_PROJECTION_LAG_AGE,
    SELECT_PROJECTION_LAG_TOTAL,
    SELECT_SEQUENCED_TOTAL,
)

# The projections events/apps.py registers: (name, stream kind). A test checks it against the registry.
PROJECTIONS: tuple[tuple[str, int], ...] = (("entity_state", 1),)


@dataclass(frozen=True, slots=True)
class LagSample:
    t: float  # seconds since the sampler started
    projection: int  # the largest projection lag (events)
    commitment: int  # the largest commitment lag (events)
    sequenced: int  # events sequenced on all streams so far
    projection_total: int = 0  # summed over all streams: the projection's backlog
    commitment_total: int = 0
    projection_age: float = 0.0  # seconds since the oldest event not yet projected was sequenced
    commitment_age: float = 0.0  # the same for commitment


def _one(conn: psycopg.Connection[Any], query: str, params: dict[str, Any] | None = None) -> int:
    return int(_scalar(conn, query, params))


def _seconds(conn: psycopg.Connection[Any], query: str, params: dict[str, Any] | None = None) -> float:
    return float(_scalar(conn, query, params))


def _scalar(conn: psycopg.Connection[Any], query: str, params: dict[str, Any] | None) -> Any:
    row = conn.execute(query, params).fetchone()
    return row[0] if row else 0


def sample(conn: psycopg.Connection[Any], t: float) -> LagSample:
    projection = projection_total = 0
    projection_age = 0.0
    for name, kind in PROJECTIONS:
        params = {"projection": name, "stream_kind": kind}
        projection = max(projection, _one(conn, SELECT_PROJECTION_LAG_MAX, params))
        projection_total += _one(conn, SELECT_PROJECTION_LAG_TOTAL, params)
        projection_age = max(projection_age, _seconds(conn, SELECT_PROJECTION_LAG_AGE, {"projection": name}))
    commitment = conn.execute(SELECT_COMMITMENT_LAG).fetchone() or (0, 0)
    return LagSample(
        t,
        projection,
        int(commitment[0]),
        _one(conn, SELECT_SEQUENCED_TOTAL, {"tenant_id": None}),
        projection_total,
        int(commitment[1]),
        projection_age,
        _seconds(conn, SELECT_COMMITMENT_LAG_AGE),
    )


def sequenced_total(database_url: str, tenant_id: uuid.UUID | None = None) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(SELECT_SEQUENCED_TOTAL, {"tenant_id": tenant_id}).fetchone()
    return int(row[0]) if row else 0


class Sampler:
    """Samples every ``interval`` seconds in a thread from ``start()`` to ``stop()``."""

    def __init__(self, database_url: str, interval: float = 1.0) -> None:
        self.database_url = database_url
        self.interval = interval
        self.samples: list[LagSample] = []
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="lag-sampler")
        self.started = 0.0

    def start(self) -> Sampler:
        self.started = time.monotonic()
        self._thread.start()
        return self

    def now(self) -> float:
        return time.monotonic() - self.started

    def _loop(self) -> None:
        try:
            with psycopg.connect(self.database_url, autocommit=True) as conn:
                while not self._stop.is_set():
                    self.samples.append(sample(conn, self.now()))
                    self._stop.wait(self.interval - (self.now() % self.interval))
        except Exception as exc:  # reported with the result
            self.error = f"{type(exc).__name__}: {exc}"

    def stop(self) -> list[LagSample]:
        self._stop.set()
        self._thread.join(timeout=30)
        return self.samples


def wait_drained(sampler: Sampler, timeout: float) -> bool:
    """Block until the latest sample has both lags 0 (True) or ``timeout`` passed (False)."""
    deadline = time.monotonic() + timeout
    seen = len(sampler.samples)
    while time.monotonic() < deadline and sampler.error is None:
        if len(sampler.samples) > seen and sampler.samples[-1].projection == 0 and sampler.samples[-1].commitment == 0:
            return True
        time.sleep(0.2)
    return False


def drain(database_url: str, timeout: float) -> tuple[bool, float]:
    """Wait for the background to catch up: (drained, seconds waited)."""
    sampler = Sampler(database_url, interval=1.0).start()
    try:
        drained = wait_drained(sampler, timeout)
    finally:
        sampler.stop()
    if sampler.error:
        raise RuntimeError(f"lag sampling failed: {sampler.error}")
    return drained, sampler.now()


@dataclass(frozen=True, slots=True)
class BackgroundSummary:
    load_seconds: float
    max_projection_lag: int  # during the load
    max_commitment_lag: int
    max_projection_backlog: int  # summed over streams
    max_commitment_backlog: int
    projection_zero_after: float | None  # seconds after the load stopped until it was 0 for good
    commitment_zero_after: float | None
    peak_events_per_second: float  # from the sequenced series (1 s buckets)
    projection_left: int = 0  # backlogs at the last sample (0 when drained)
    commitment_left: int = 0
    projection_drain_rate: float = 0.0  # events/s the projection backlog fell by after the load
    max_projection_age: float = 0.0  # during the load: the oldest unprojected event's age, max (s)
    max_commitment_age: float = 0.0

    @property
    def both_zero_after(self) -> float | None:
        if self.projection_zero_after is None or self.commitment_zero_after is None:
            return None
        return max(self.projection_zero_after, self.commitment_zero_after)


def zero_for_good(samples: Sequence[LagSample], after: float, field: str) -> float | None:
    """Seconds from ``after`` to the first sample from which ``field`` stays 0 (None: never)."""
    found: float | None = None
    for s in samples:
        if s.t < after:
            continue
        if getattr(s, field) == 0:
            if found is None:
                found = s.t
        else:
            found = None
    return None if found is None else max(0.0, found - after)


def rates(samples: Sequence[LagSample]) -> list[tuple[float, float]]:
    """(t, events/s) between consecutive samples."""
    out = []
    for a, b in itertools.pairwise(samples):
        if b.t > a.t:
            out.append((b.t, (b.sequenced - a.sequenced) / (b.t - a.t)))
    return out


def summarize(samples: Sequence[LagSample], load_start: float, load_end: float) -> BackgroundSummary:
    during = [s for s in samples if load_start <= s.t <= load_end]
    after = [s for s in samples if s.t >= load_end]
    drain_rate = 0.0
    if len(after) >= 2 and after[-1].t > after[0].t:
        drain_rate = max(0.0, (after[0].projection_total - after[-1].projection_total) / (after[-1].t - after[0].t))
    last = samples[-1] if samples else None
    return BackgroundSummary(
        load_seconds=load_end - load_start,
        max_projection_lag=max((s.projection for s in during), default=0),
        max_commitment_lag=max((s.commitment for s in during), default=0),
        max_projection_backlog=max((s.projection_total for s in during), default=0),
        max_commitment_backlog=max((s.commitment_total for s in during), default=0),
        projection_zero_after=zero_for_good(samples, load_end, "projection"),
        commitment_zero_after=zero_for_good(samples, load_end, "commitment"),
        peak_events_per_second=max((r for t, r in rates(samples) if load_start < t <= load_end + 1), default=0.0),
        projection_left=last.projection_total if last else 0,
        commitment_left=last.commitment_total if last else 0,
        projection_drain_rate=drain_rate,
        max_projection_age=max((s.projection_age for s in during), default=0.0),
        max_commitment_age=max((s.commitment_age for s in during), default=0.0),
    )
