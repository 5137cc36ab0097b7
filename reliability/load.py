"""Concurrent HTTP writers with forced client timeouts, exact duplicates and version conflicts.

Each writer is a thread with its own ``httpx.Client`` (its own connections). A request is one
to four events of one stream. The mix:

* events on the writer's own entity carry the ``base_version`` the writer knows, so they must
  always be accepted (any rejection of them is a bug);
* events on a shared entity carry a ``base_version`` taken from a racy shared counter, so real
  ``VersionConflict`` rejections happen (and accepted ones must still be in version order);
* some requests are exact re-sends of an acknowledged request of any writer (same bytes): every
  receipt must come back ``replayed`` with the number first acknowledged;
* some requests get a tiny client timeout; the client then re-sends the same bytes until it has
  an answer, as a real client would. 503/429 answers are retried the same way.

The ``Ledger`` keeps every acknowledged event (number, stream, payload hash) for the checks.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from reliability.stack import BASE_URL, Stack
from ves.legacy_json import payload_hash

RETRY_STATUSES = {429, 502, 503, 504}


@dataclass(frozen=True)
class LoadPlan:
    writers: int
    streams: int
    events: int
    timeout_share: float = 0.05
    duplicate_share: float = 0.05
    shared_entity_share: float = 0.15
    max_batch: int = 4
    give_up_after_seconds: float = 300.0


@dataclass(frozen=True)
class Ack:
    store_id: str
    sequence_number: int
    payload_hash: bytes
    entity_id: str


@dataclass
class Ledger:
    """What clients saw acknowledged, and what went wrong from their side."""

    tenant_id: str
    api_key: str
    acks: dict[str, Ack] = field(default_factory=dict)
    sent_bodies: list[bytes] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    shared_versions: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Fail-fast evidence: (status, seconds) of every 5xx answer and how long it took.
    failures: list[tuple[int, float, str]] = field(default_factory=list)
    # Monotonic time of every acknowledged request (recovery times are read from these).
    ack_times: list[float] = field(default_factory=list)

    def record(self, sent: dict[str, Ack], response: dict[str, Any], *, duplicate: bool) -> None:
        with self.lock:
            self.ack_times.append(time.monotonic())
            for receipt in response.get("receipts", []):
                event_id, number = receipt["event_id"], int(receipt["sequence_number"])
                ack = sent[event_id]
                known = self.acks.get(event_id)
                if known is not None and known.sequence_number != number:
                    self.violations.append(f"{event_id} acknowledged as {known.sequence_number}, then {number}")
                if duplicate and not receipt["replayed"]:
                    self.violations.append(f"exact re-send of {event_id} was not a replay")
                if known is None:
                    self.acks[event_id] = Ack(ack.store_id, number, ack.payload_hash, ack.entity_id)
                    if ack.entity_id == "shared" and not receipt["replayed"]:
                        self.shared_versions[ack.store_id] = self.shared_versions.get(ack.store_id, 0) + 1
                self.counts["replayed" if receipt["replayed"] else "accepted"] += 1
            for rejection in response.get("rejections", []):
                entity = sent[rejection["event_id"]].entity_id
                expected = rejection["reason"] == "VersionConflict" and entity == "shared"
                self.counts["rejected_version_conflict" if expected else "rejected_unexpected"] += 1
                if not expected:
                    self.violations.append(f"unexpected rejection {rejection}")


def _event(tenant_id: str, store_id: str, entity_id: str, base_version: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "tenant_id": tenant_id,
        "store_id": store_id,
        "entity_type": "order",
        "entity_id": entity_id,
        "event_type": "order.updated",
        "payload": {"n": random.randrange(10**9), "note": uuid.uuid4().hex},  # noqa: S311  (test data)
        "created_at": "2026-11-27T00:00:00Z",
    }
    if base_version is not None:
        body["base_version"] = base_version
    return body


class Writer(threading.Thread):
    """One client: sequential requests over its own connection pool."""

    def __init__(self, index: int, plan: LoadPlan, ledger: Ledger, stores: list[str], quota: int) -> None:
        super().__init__(name=f"writer-{index}", daemon=True)
        self.index, self.plan, self.ledger, self.stores, self.quota = index, plan, ledger, stores, quota
        self.own_versions: dict[str, int] = {}
        self.rng = random.Random(index)  # noqa: S311  (test data, reproducible per writer)
        self.stop_requested = threading.Event()

    def run(self) -> None:
        headers = {"Authorization": f"ApiKey {self.ledger.api_key}", "Content-Type": "application/json"}
        with httpx.Client(base_url=BASE_URL, headers=headers, timeout=30) as client:
            sent = 0
            while sent < self.quota and not self.stop_requested.is_set():
                if self.ledger.sent_bodies and self.rng.random() < self.plan.duplicate_share:
                    with self.ledger.lock:
                        body = self.rng.choice(self.ledger.sent_bodies)
                    self._send(client, body, duplicate=True)
                    continue
                body, count = self._new_body()
                if self._send(client, body, duplicate=False):
                    with self.ledger.lock:
                        self.ledger.sent_bodies.append(body)
                sent += count

    def _new_body(self) -> tuple[bytes, int]:
        store = self.rng.choice(self.stores)
        events = []
        for _ in range(self.rng.randint(1, self.plan.max_batch)):
            if self.rng.random() < self.plan.shared_entity_share:
                with self.ledger.lock:
                    version = self.ledger.shared_versions.get(store, 0)
                events.append(_event(self.ledger.tenant_id, store, "shared", version))
            else:
                entity = f"writer-{self.index}"
                own = self.own_versions.get(store, 0)
                events.append(_event(self.ledger.tenant_id, store, entity, own))
                self.own_versions[store] = own + 1
        return orjson.dumps({"events": events}), len(events)

    def _send(self, client: httpx.Client, body: bytes, *, duplicate: bool) -> bool:
        """Post ``body`` until the service answers it; True when it was acknowledged."""
        events = orjson.loads(body)["events"]
        sent = {e["event_id"]: Ack(e["store_id"], 0, payload_hash(e["payload"]), e["entity_id"]) for e in events}
        timeout: float | None = None
        if self.rng.random() < self.plan.timeout_share:
            timeout = self.rng.uniform(0.001, 0.05)  # forced: the client gives up before the answer
        deadline = time.monotonic() + self.plan.give_up_after_seconds
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                response = client.post("/api/v1/events/ingest", content=body, timeout=timeout or 30)
            except httpx.TimeoutException:
                self._count("client_timeouts_forced" if timeout else "client_timeouts")
                timeout = None
                continue
            except httpx.TransportError:
                self._count("transport_errors")  # a killed worker cut the connection: re-send
                time.sleep(0.05)
                continue
            elapsed = time.monotonic() - started
            if response.status_code == 200:
                self.ledger.record(sent, response.json(), duplicate=duplicate)
                self._count("requests_ok")
                return True
            if response.status_code in RETRY_STATUSES:
                self._failure(response, elapsed)
                time.sleep(0.1)
                continue
            with self.ledger.lock:
                self.ledger.violations.append(f"ingest answered {response.status_code}: {response.text[:300]}")
            return False
        self._count("gave_up")
        return False

    def _count(self, name: str) -> None:
        with self.ledger.lock:
            self.ledger.counts[name] += 1

    def _failure(self, response: httpx.Response, elapsed: float) -> None:
        code = ""
        if response.headers.get("content-type", "").startswith("application/problem+json"):
            code = str(response.json().get("code", ""))
        with self.ledger.lock:
            self.ledger.failures.append((response.status_code, elapsed, code))
            if response.status_code >= 500 and (response.status_code != 503 or not code):
                self.ledger.violations.append(f"{response.status_code} without a 503 problem: {response.text[:200]}")
            self.ledger.counts[f"answer_{response.status_code}_{code or 'no_problem_json'}"] += 1


def run_writers(plan: LoadPlan, ledger: Ledger, stores: list[str]) -> list[Writer]:
    """Start ``plan.writers`` writers sharing ``plan.events`` events; the caller joins them
    (or calls ``stop_writers`` for time-driven scenarios)."""
    share, extra = divmod(plan.events, plan.writers)
    writers = [Writer(i, plan, ledger, stores, share + (1 if i < extra else 0)) for i in range(plan.writers)]
    for writer in writers:
        writer.start()
    return writers


def stop_writers(writers: list[Writer]) -> None:
    """Ask every writer to stop after its current request (answered) and wait for them."""
    for writer in writers:
        writer.stop_requested.set()
    for writer in writers:
        writer.join()


def new_ledger(stack: Stack, streams: int) -> tuple[Ledger, list[str]]:
    """A fresh tenant with a rate-limited key (so every request consults Redis) and its stores."""
    tenant_id = str(uuid.uuid4())
    return Ledger(tenant_id, stack.mint_key(tenant_id)), [str(uuid.uuid4()) for _ in range(streams)]
