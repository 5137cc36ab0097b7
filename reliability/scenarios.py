"""The scenarios: each one drives load, injects its faults and returns what it saw.

A ``Result`` lists what was tried (lines), the properties checked with their violations, and
the figures measured (each scenario records the load average next to its timings).
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from reliability import checks
from reliability.load import Ledger, LoadPlan, Writer, new_ledger, run_writers, stop_writers
from reliability.stack import BASE_URL, Stack
from ves.client import AgentSigner, X402Payment, signing_key_body, x402_intent_body

CATCH_UP_SECONDS = 180.0


@dataclass
class Result:
    name: str
    tried: list[str] = field(default_factory=list)
    properties: list[tuple[str, list[str]]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(not violations for _, violations in self.properties)

    def check(self, name: str, violations: list[str]) -> None:
        self.properties.append((name, violations))


def load_average() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def _join(writers: list[Writer]) -> None:
    for writer in writers:
        writer.join()


def _wait_for_acks(ledger: Ledger, count: int, writers: list[Writer]) -> None:
    while len(ledger.acks) < count and any(w.is_alive() for w in writers):
        time.sleep(0.05)


def check_streams(result: Result, stack: Stack, ledger: Ledger) -> None:
    with stack.postgres.connect() as conn:
        gaps, facts = checks.streams_gap_free(conn, ledger.tenant_id)
        lost, unacknowledged = checks.acknowledged_events_stored(conn, ledger)
        result.check("every stream holds exactly 1..head (no gap, no duplicate)", gaps)
        result.check("every acknowledged event stored with its number and payload hash", lost)
        result.check(
            "accepted base_version events are in version order", checks.versions_in_order(conn, ledger.tenant_id)
        )
    result.check("no event renumbered, every exact re-send replayed, no unexpected rejection", ledger.violations)
    result.figures.update(
        streams=facts.streams if facts else 0,
        events_stored=facts.events_stored if facts else 0,
        events_acknowledged=len(ledger.acks),
        stored_but_never_acknowledged=unacknowledged,
        **dict(sorted(ledger.counts.items())),
    )


def concurrent_writers(stack: Stack, *, streams: int, events: int, writers: int = 16) -> Result:
    """Scenario 1: 16 writers, forced timeouts, duplicates and conflicts; then check every stream."""
    result = Result(f"{writers} concurrent writers on {streams} stream{'s' if streams > 1 else ''}")
    ledger, stores = new_ledger(stack, streams)
    plan = LoadPlan(writers=writers, streams=streams, events=events)
    result.tried.append(
        f"{events} new events from {writers} HTTP clients, 1-{plan.max_batch} events per request; "
        f"{plan.timeout_share:.0%} of requests with a 1-50 ms client timeout then re-sent byte for byte; "
        f"{plan.duplicate_share:.0%} exact re-sends of acknowledged requests; "
        f"{plan.shared_entity_share:.0%} of events on a shared entity with a racy base_version"
    )
    started = time.monotonic()
    _join(run_writers(plan, ledger, stores))
    elapsed = time.monotonic() - started
    check_streams(result, stack, ledger)
    result.figures.update(
        seconds=round(elapsed, 1), events_per_second=round(len(ledger.acks) / elapsed, 1), load_average=load_average()
    )
    return result


# --- x402 intents: a payer agent submitting signed intents during the crash scenario ----------


class IntentSubmitter(threading.Thread):
    """Submits ``count`` signed x402 intents, re-sending on timeouts/5xx/cut connections."""

    def __init__(self, ledger: Ledger, store_id: str, count: int) -> None:
        super().__init__(name="x402", daemon=True)
        self.ledger, self.store_id, self.count = ledger, store_id, count
        self.signer = AgentSigner.generate()  # key id 1
        self.payer = "0x" + os.urandom(20).hex()
        self.acknowledged: dict[str, int] = {}
        self.problems: list[str] = []
        self.stop_requested = threading.Event()

    def run(self) -> None:
        headers = {"Authorization": f"ApiKey {self.ledger.api_key}", "Content-Type": "application/json"}
        with httpx.Client(base_url=BASE_URL, headers=headers, timeout=30) as client:
            signer = self.signer
            key = signing_key_body(self.ledger.tenant_id, signer.agent_id, signer.key_id, signer.public_key)
            # A re-send after a cut connection may find the key registered: 409 agent_key_exists is fine.
            self._post(client, "/api/v1/agents/keys", orjson.dumps(key), also_ok=409)
            for nonce in range(1, self.count + 1):
                if self.stop_requested.is_set():
                    break
                answer = self._post(client, "/api/v1/x402/payments", self._intent(nonce))
                if answer is not None:
                    self.acknowledged[answer["intent_id"]] = int(answer["sequence_number"])

    def _intent(self, nonce: int) -> bytes:
        payee, valid_until = "0x" + "ab" * 20, int(time.time()) + 3600
        payment = X402Payment(
            payer_address=self.payer,
            payee_address=payee,
            amount=1000,
            nonce=nonce,
            valid_until=valid_until,
            idempotency_key=f"reliability-{nonce}",
        )
        body = x402_intent_body(self.signer, self.ledger.tenant_id, self.store_id, payment)
        return orjson.dumps(body)

    def _post(self, client: httpx.Client, path: str, body: bytes, also_ok: int = 0) -> dict[str, Any] | None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                response = client.post(path, content=body)
            except httpx.TransportError:
                time.sleep(0.05)
                continue
            if response.status_code in (200, 201, also_ok):
                answer: dict[str, Any] = response.json()
                return answer
            if response.status_code in (429, 502, 503, 504):
                time.sleep(0.1)
                continue
            self.problems.append(f"{path} answered {response.status_code}: {response.text[:300]}")
            return None
        self.problems.append(f"{path}: no answer in 300 s")
        return None


def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.5) -> float | None:
    """Seconds until ``predicate()`` held, or None if it never did within ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return round(time.monotonic() - started, 2)
        time.sleep(step)
    return None


def caught_up(stack: Stack, ledger: Ledger) -> bool:
    with stack.postgres.connect() as conn:
        return not (
            checks.commitments_caught_up(conn, ledger.tenant_id)
            or checks.projections_caught_up(conn, ledger.tenant_id)
            or checks.payment_batches_caught_up(conn, ledger.tenant_id)[0]
        )


def _check_background(result: Result, stack: Stack, ledger: Ledger, payer: IntentSubmitter | None) -> None:
    with stack.postgres.connect() as conn:
        result.check(
            "commitments tile each stream 1..head (caught up, none duplicated)",
            checks.commitments_caught_up(conn, ledger.tenant_id),
        )
        result.check(
            "entity_state projection caught up on every stream", checks.projections_caught_up(conn, ledger.tenant_id)
        )
        if payer is not None:
            problems, intents, batches = checks.payment_batches_caught_up(conn, ledger.tenant_id)
            result.check(
                "every x402 intent in exactly one batch, batch ranges tile the stream", problems + payer.problems
            )
            result.figures.update(
                x402_intents_acknowledged=len(payer.acknowledged), x402_intents=intents, x402_batches=batches
            )


def _respawned(stack: Stack, name: str, killed: int, workers: int) -> bool:
    children = stack.services[name].children()
    return killed not in children and len(children) >= workers


def crashes(stack: Stack, *, pace: float) -> Result:
    """Scenario 2: kill -9 gunicorn workers, the Celery worker and beat while load runs.

    Time-driven: faults every ``pace`` seconds while 8 writers and an x402 payer keep going.
    """
    result = Result("kill -9 of gunicorn workers, the Celery worker and beat during load")
    ledger, stores = new_ledger(stack, 16)
    writers = run_writers(LoadPlan(writers=8, streams=16, events=10**9), ledger, stores)
    payer = IntentSubmitter(ledger, stores[0], 10**9)
    payer.start()
    web_workers = len(stack.services["web"].children())
    respawn: list[float | None] = []
    for _ in range(2):
        time.sleep(pace)
        pid = stack.kill9_child("web")
        result.tried.append(f"kill -9 gunicorn worker {pid} at {len(ledger.acks)} acknowledged events")
        respawn.append(wait_until(functools.partial(_respawned, stack, "web", pid, web_workers), 30, step=0.05))
    time.sleep(pace)
    pid = stack.kill9("worker")
    result.tried.append(f"kill -9 Celery worker group {pid} (main + pool) at {len(ledger.acks)} acknowledged events")
    time.sleep(pace)
    pid = stack.kill9("beat")
    result.tried.append(f"kill -9 beat {pid} at {len(ledger.acks)} acknowledged events")
    time.sleep(pace)
    stack.start("worker")
    stack.start("beat")
    restarted = time.monotonic()
    result.tried.append(f"restarted the Celery worker and beat at {len(ledger.acks)} acknowledged events")
    time.sleep(pace)
    payer.stop_requested.set()
    stop_writers(writers)
    payer.join()
    load_done = time.monotonic()
    catch_up = wait_until(lambda: caught_up(stack, ledger), CATCH_UP_SECONDS)
    result.figures.update(
        gunicorn_worker_respawn_seconds=respawn,
        catch_up_after_load_seconds=catch_up if catch_up is not None else f"not within {CATCH_UP_SECONDS:.0f}",
        catch_up_after_restart_seconds=None if catch_up is None else round(load_done + catch_up - restarted, 1),
        load_average=load_average(),
    )
    check_streams(result, stack, ledger)
    _check_background(result, stack, ledger, payer)
    return result
