"""Schemathesis against a live server: every operation of the OpenAPI schema, valid and invalid input.

The server is pytest-django's ``live_server`` (a real HTTP server in this process) on the test
PostgreSQL database, with Redis behind the rate limiter and caches. Each operation is called with
generated valid (positive) and invalid (negative) requests as two callers: the bootstrap admin and a
tenant admin key, whose requests are pointed at the tenant's own seeded stream half of the time so
that they reach the business logic and real bodies come back. Every operation's path parameters,
query parameters and JSON body (each described in the snapshot) are generated. Checks: no 5xx, the
status code, content type and body of every response conform to the schema, and every 4xx
problem's ``status`` member is the HTTP status.

Quick by default (``SCHEMATHESIS_MAX_EXAMPLES`` = 3 examples per operation, mode and caller,
derandomized); ``make reliability`` runs it with ``SCHEMATHESIS_MAX_EXAMPLES=200`` (random).
The test prints the operations, requests and failures (docs/reliability.md "API fuzzing").
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import legacy_event
from tests.events.ves_helpers import Agent
from tests.tenants.factories import issue_key, make_tenant

SNAPSHOT = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "openapi.yaml"
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "3"))
DEEP = "SCHEMATHESIS_MAX_EXAMPLES" in os.environ
# Quick mode does not shrink: a failure is reported as found (deep mode shrinks it).
PHASES = list(Phase) if DEEP else [Phase.explicit, Phase.reuse, Phase.generate]


def problem_status_is_the_http_status(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx is a problem whose ``status`` member equals the HTTP status, with a stable ``code``
    (an x402 409 once said ``"status": "sequenced"``)."""
    if 400 <= response.status_code < 500:
        body = response.json()
        assert isinstance(body, dict), f"a {response.status_code} without a problem body"
        assert body.get("status") == response.status_code, f"problem status {body.get('status')!r}"
        assert isinstance(body.get("code"), str), f"problem code {body.get('code')!r}"
    return None


def not_a_server_error_but_a_refused_reference_route(ctx: Any, response: Any, case: Any) -> bool | None:
    """``not_a_server_error``, except the documented 501 ``not_implemented`` of the reference's
    ``stark`` routes (commitments/api/stark_views.py): a deliberate answer, not a failure."""
    if response.status_code == 501 and response.json().get("code") == "not_implemented":
        return None
    result: bool | None = not_a_server_error(ctx, response, case)
    return result


CHECKS = [
    not_a_server_error_but_a_refused_reference_route,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    problem_status_is_the_http_status,
]
SIGNING_SEED = bytes(range(32))
# Anchoring on the in-process py-evm chain, so the anchor endpoints run for real instead of
# answering 503 anchoring_unconfigured.
ANCHOR_KEY = "0x" + bytes(range(1, 33)).hex()


@dataclass(frozen=True)
class Caller:
    name: str
    key: str
    tenant_id: uuid.UUID | None
    store_id: uuid.UUID | None


@dataclass
class Tally:
    requests: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)
    no_invalid_input: list[str] = field(default_factory=list)


def _aimed_at(case: Any, caller: Caller, aim: bool) -> Any:
    """Point a valid case's stream ids at the caller's own seeded stream."""
    if not aim or caller.tenant_id is None:
        return case
    ids = {"tenant_id": str(caller.tenant_id), "tenantId": str(caller.tenant_id), "store_id": str(caller.store_id)}
    if isinstance(case.query, dict):
        for name in ("tenant_id", "store_id"):
            if name in case.query:
                case.query[name] = ids[name]
    if isinstance(case.body, dict):
        for name, value in ids.items():
            if name in case.body:
                case.body[name] = value
        for event in case.body.get("events") or []:
            if isinstance(event, dict):
                event.update({k: ids[k] for k in ("tenant_id", "store_id") if k in event})
    return case


def _call_and_check(
    case: Any, context: str, headers: dict[str, str], base_url: str, tally: Tally, *, expect: int | None = None
) -> None:
    """One request; a failed check is recorded (every failure is reported at the end, not only the first)."""
    response = case.call(base_url=base_url, headers=headers, timeout=30)
    tally.requests += 1
    tally.by_status[response.status_code] += 1
    try:
        assert expect is None or response.status_code == expect, f"expected {expect}: {response.text[:500]}"
        case.validate_response(response, checks=CHECKS, headers=headers)
    except (Failure, FailureGroup, AssertionError) as exc:
        found = exc.exceptions if isinstance(exc, FailureGroup) else [exc]
        key = (case.operation.label, ", ".join(sorted({getattr(f, "title", type(f).__name__) for f in found})))
        tally.failures.setdefault(key, f"{context}: {case.as_curl_command(headers=headers)}\n{str(exc)[:2000]}")


def _fuzz(operation: Any, mode: GenerationMode, caller: Caller, base_url: str, tally: Tally) -> None:
    strategy = operation.as_strategy(generation_mode=mode)
    if mode is GenerationMode.POSITIVE:
        strategy = st.tuples(strategy, st.booleans()).map(lambda pair: _aimed_at(pair[0], caller, pair[1]))
    headers = {"Authorization": f"Bearer {caller.key}"}

    @hypothesis_settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=not DEEP,
        suppress_health_check=list(HealthCheck),
        phases=PHASES,
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        _call_and_check(case, f"{mode.value} {caller.name}", headers, base_url, tally)

    try:
        run()
    except Unsatisfiable:
        # Nothing to negate: the operation takes no parameters and no body.
        assert mode is GenerationMode.NEGATIVE, operation.label
        tally.no_invalid_input.append(f"{operation.label} ({caller.name})")


def _seed(base_url: str, key: str, tenant_id: uuid.UUID, store_id: uuid.UUID) -> dict[str, str]:
    """A legacy and a VES stream with events and a commitment each, so reads return real bodies.

    Returns the ids the explicit cases use (``_explicit_cases``).
    """
    stream = {"tenant_id": str(tenant_id), "store_id": str(store_id)}
    agent = Agent(tenant_id, store_id)
    with httpx.Client(base_url=base_url, headers={"Authorization": f"ApiKey {key}"}, timeout=30) as client:
        events = [legacy_event(tenant_id, store_id, entity_id=f"order-{n % 2}") for n in range(6)]
        assert client.post("/api/v1/events/ingest", json={"events": events}).status_code == 200
        legacy = client.post("/api/v1/commitments", json={**stream, "sequence_start": 1, "sequence_end": 4})
        assert legacy.status_code == 200, legacy.text
        key_body = {"tenantId": str(tenant_id), "agentId": str(agent.agent_id), "keyId": 1}
        registered = client.post("/api/v1/agents/keys", json={**key_body, "publicKey": agent.public_key.hex()})
        assert registered.status_code == 200, registered.text
        ves_events = [agent.event(entity_id=f"order-{n % 2}") for n in range(5)]
        ingested = client.post("/api/v1/ves/events/ingest", json={"agentId": str(agent.agent_id), "events": ves_events})
        assert ingested.json()["eventsAccepted"] == 5, ingested.text
        ves = client.post("/api/v1/ves/commitments", json={**stream, "sequence_start": 1, "sequence_end": 3})
        assert ves.status_code == 200, ves.text
    return {
        "legacy_event_id": events[0]["event_id"],
        "legacy_batch_id": legacy.json()["batch_id"],
        "ves_event_id": str(ves_events[0]["event_id"]),
        "ves_batch_id": ves.json()["batch_id"],
        "agent_id": str(agent.agent_id),
    }


def _explicit_cases(ids: dict[str, str], tenant_id: uuid.UUID, store_id: uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
    """Requests for the seeded resources: generated ids almost never name one, so the success bodies
    of these operations are checked here (operation id, ``Case`` keyword arguments)."""
    stream = {"tenant_id": str(tenant_id), "store_id": str(store_id)}
    return [
        ("events_get", {"path_parameters": {"event_id": ids["legacy_event_id"]}}),
        ("events_bundle", {"path_parameters": {"event_id": ids["legacy_event_id"]}}),
        ("ves_events_get", {"path_parameters": {"event_id": ids["ves_event_id"]}}),
        ("ves_events_bundle", {"path_parameters": {"event_id": ids["ves_event_id"]}}),
        ("commitments_get", {"path_parameters": {"batch_id": ids["legacy_batch_id"]}}),
        ("ves_commitments_get", {"path_parameters": {"batch_id": ids["ves_batch_id"]}}),
        ("proofs_get", {"path_parameters": {"sequence_number": 2}, "query": stream}),
        ("ves_proofs_get", {"path_parameters": {"sequence_number": 2}, "query": stream}),
        ("log_checkpoint", {"query": stream}),
        ("ves_log_checkpoint", {"query": stream}),
        ("log_inclusion_proof", {"query": {**stream, "sequence_number": 3}}),
        ("ves_log_inclusion_proof", {"query": {**stream, "sequence_number": 3}}),
        ("log_consistency_proof", {"query": {**stream, "first": 2}}),
        ("ves_log_consistency_proof", {"query": {**stream, "first": 2}}),
        ("ves_events_list", {"query": stream}),
        ("entity_history", {"path_parameters": {"entity_type": "order", "entity_id": "order-1"}, "query": stream}),
        (
            "agent_keys_list",
            {"path_parameters": {"agent_id": ids["agent_id"]}, "query": {"tenant_id": stream["tenant_id"]}},
        ),
    ]


@pytest.mark.slow
def test_every_operation_survives_generated_valid_and_invalid_input(live_server: Any, settings: Any) -> None:
    settings.VES_SEQUENCER_SIGNING_KEY = SIGNING_SEED.hex()
    settings.ANCHOR_RPC_URL = "eth-tester://"
    settings.ANCHOR_PRIVATE_KEY = ANCHOR_KEY
    settings.PUBLIC_AGENT_REGISTRATION_ENABLED = True
    settings.AGENT_REGISTRATION_RATE_LIMIT = 1_000_000
    settings.RATE_LIMIT_PER_MINUTE = 0
    tenant = make_tenant()
    store_id = uuid.uuid4()
    tenant_key = issue_key(tenant, can_write=True, can_admin=True)
    ids = _seed(live_server.url, tenant_key, tenant.id, store_id)
    callers = [
        Caller("admin", settings.BOOTSTRAP_ADMIN_API_KEY, None, None),
        Caller("tenant", tenant_key, tenant.id, store_id),
    ]

    schema = schemathesis.openapi.from_dict(yaml.safe_load(SNAPSHOT.read_text()))
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        operations.append(result.ok())
    tally = Tally()
    # First the seeded resources, while they are as seeded.
    tenant_caller = callers[1]
    explicit = _explicit_cases(ids, tenant.id, store_id)
    for operation_id, arguments in explicit:
        case = schema.find_operation_by_id(operation_id).Case(**arguments)
        headers = {"Authorization": f"Bearer {tenant_caller.key}"}
        _call_and_check(case, "explicit tenant", headers, live_server.url, tally, expect=200)

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for caller in callers:
                _fuzz(operation, mode, caller, live_server.url, tally)

    print(  # noqa: T201 - the figures docs/reliability.md quotes (run with -s)
        f"\nschemathesis: {len(operations)} operations, {tally.requests} requests "
        f"({MAX_EXAMPLES} examples per operation, mode and caller), "
        f"statuses {dict(sorted(tally.by_status.items()))}, {len(tally.failures)} distinct failures; "
        f"no invalid input exists for {len(tally.no_invalid_input)} operation/caller pairs; "
        f"{len(explicit)} explicit requests on seeded resources"
    )
    for (label, summary), detail in sorted(tally.failures.items()):
        print(f"FAILURE {label} {summary}\n{detail}\n")  # noqa: T201
    document = yaml.safe_load(SNAPSHOT.read_text())
    assert len(operations) == sum(
        len(set(item) & {"get", "post", "put", "delete"}) for item in document["paths"].values()
    )
    assert tally.requests >= len(operations) * 2
    assert not tally.failures, f"{len(tally.failures)} distinct failures (printed above)"
