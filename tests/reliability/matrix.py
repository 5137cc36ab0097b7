"""The isolation matrix: for every (URL name, method) the request and what each principal gets.

``owner`` is the tenant admin whose store holds the resource; ``member`` a read/write key of
the same tenant scoped to another store; ``outsider`` an admin key of another tenant. An
outcome is a status and, for refusals, the stable problem code. ``ALLOWED`` marks a member
or outsider answer that is served on purpose (tenant-level resources, the caller's own tenant
in admin lists, stateless helpers, probes): those answers are still checked for leaks.

Rules of the API that the matrix encodes (``docs/auth.md``, ``docs/errors.md``):
* a stream the client names (query or body) outside its tenant or store → 403
  ``tenant_access_denied`` / ``store_access_denied`` (the ids are the caller's own claim);
* a resource fetched by id outside its tenant or store → 404 with the resource's code;
* admin-only operations → 403 ``permission_denied`` for keys without admin.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from tests.reliability.world import World

Outcome = tuple[int, str | None]
ALLOWED: Outcome = (0, None)  # any 2xx
TENANT_DENIED: Outcome = (403, "tenant_access_denied")
STORE_DENIED: Outcome = (403, "store_access_denied")
NOT_ADMIN: Outcome = (403, "permission_denied")
AGENT_DENIED: Outcome = (403, "agent_scope_denied")
BOOTSTRAP_ONLY: Outcome = (403, "bootstrap_admin_required")

Q = "?tenant_id={tenant}&store_id={store}"
T = "?tenant_id={tenant}"


@dataclass(frozen=True)
class Access:
    member: Outcome
    outsider: Outcome
    public: bool = False  # no credential needed (probes, registration)


@dataclass(frozen=True)
class Entry:
    method: str
    path: str
    access: Access
    owner: int = 200
    body: Callable[[World], Any] | None = None

    @property
    def member(self) -> Outcome:
        return self.access.member

    @property
    def outsider(self) -> Outcome:
        return self.access.outsider

    @property
    def public(self) -> bool:
        return self.access.public


def _not_found(code: str) -> Outcome:
    return (404, code)


def _stream(w: World) -> dict[str, str]:
    return {"tenant_id": w.ids["tenant"], "store_id": w.ids["store"]}


def _zero_proof(root_name: str) -> Callable[[World], Any]:
    return lambda w: {"leaf_hash": "00" * 32, root_name: "00" * 32, "proof_path": [], "leaf_index": 0}


def _legacy_body(w: World) -> Any:
    from tests.conftest import legacy_event

    return {"events": [legacy_event(uuid.UUID(w.ids["tenant"]), uuid.UUID(w.ids["store"]))]}


def _ves_body(w: World) -> Any:
    return {"agentId": str(w.agent.agent_id), "events": [w.agent.event()]}


def _intent_body(w: World) -> Any:
    return w.payer.intent(nonce=uuid.uuid4().int % 10**9 + 100)


STREAM = Access(STORE_DENIED, TENANT_DENIED)  # a stream named in the query or body
TENANT_LEVEL_READ = Access(ALLOWED, TENANT_DENIED)  # schemas, agents' public keys
PUBLIC = Access(ALLOWED, ALLOWED, public=True)
STATELESS = Access(ALLOWED, ALLOWED)  # no tenant data (proof verification, anchor status)


def _by_id(code: str) -> Access:
    return Access(_not_found(code), _not_found(code))


def _admin_by_id(code: str) -> Access:
    return Access(NOT_ADMIN, _not_found(code))


MATRIX: dict[tuple[str, str], Entry] = {
    # --- probes and operations ---------------------------------------------------------------
    ("health", "GET"): Entry("GET", "/health", access=PUBLIC),
    ("healthz", "GET"): Entry("GET", "/healthz", access=PUBLIC),
    ("ready", "GET"): Entry("GET", "/ready", access=PUBLIC),
    ("readyz", "GET"): Entry("GET", "/readyz", access=PUBLIC),
    # The OpenAPI document and its docs page describe the API, not any tenant's data.
    ("openapi-schema", "GET"): Entry("GET", "/api/schema/", access=PUBLIC),
    ("openapi-docs", "GET"): Entry("GET", "/api/docs/", access=PUBLIC),
    # Process-wide figures without tenant labels: any admin (here: the outsider's tenant admin).
    ("health-detailed", "GET"): Entry("GET", "/health/detailed", access=Access(NOT_ADMIN, ALLOWED)),
    ("metrics", "GET"): Entry("GET", "/metrics", access=Access(NOT_ADMIN, ALLOWED)),
    # --- legacy events -----------------------------------------------------------------------
    ("events:ingest", "POST"): Entry("POST", "/api/v1/events/ingest", body=_legacy_body, access=STREAM),
    ("events:list", "GET"): Entry("GET", "/api/v1/events" + Q + "&from=1", access=STREAM),
    ("events:detail", "GET"): Entry("GET", "/api/v1/events/{event}", access=_by_id("event_not_found")),
    ("events:head", "GET"): Entry("GET", "/api/v1/head" + Q, access=STREAM),
    ("events:entity-history", "GET"): Entry("GET", "/api/v1/entities/order/{entity}" + Q, access=STREAM),
    ("events:entity-state", "GET"): Entry("GET", "/api/v1/entities/order/{entity}/state" + Q, access=STREAM),
    ("events:projection-lag", "GET"): Entry("GET", "/api/v1/projections/lag" + Q, access=STREAM),
    ("events:dlq-retry", "POST"): Entry(
        "POST", "/api/v1/admin/dlq/{dead_letter}/retry", access=_admin_by_id("dead_letter_not_found")
    ),
    ("events:dlq-discard", "POST"): Entry(
        "POST", "/api/v1/admin/dlq/{dead_letter}/discard", access=_admin_by_id("dead_letter_not_found")
    ),
    # --- VES events --------------------------------------------------------------------------
    ("events:ves-ingest", "POST"): Entry("POST", "/api/v1/ves/events/ingest", body=_ves_body, access=STREAM),
    ("events:ves-list", "GET"): Entry("GET", "/api/v1/ves/events" + Q + "&from=1", access=STREAM),
    ("events:ves-detail", "GET"): Entry("GET", "/api/v1/ves/events/{ves_event}", access=_by_id("event_not_found")),
    # --- agents, keys, admin JSON ------------------------------------------------------------
    ("tenants:agent-key-register", "POST"): Entry(
        "POST",
        "/api/v1/agents/keys",
        body=lambda w: {
            "tenantId": w.ids["tenant"],
            "agentId": str(uuid.uuid4()),
            "keyId": 1,
            "publicKey": w.agent.public_key.hex(),
        },
        access=Access(NOT_ADMIN, TENANT_DENIED),
    ),
    ("tenants:agent-register", "POST"): Entry(
        "POST",
        "/api/v1/agents/register",
        body=lambda w: {"name": "matrix"},
        owner=403,
        access=Access((403, "registration_disabled"), (403, "registration_disabled"), public=True),
    ),
    ("tenants:agent-detail", "GET"): Entry(
        "GET",
        "/api/v1/agents/{agent}",
        access=Access(AGENT_DENIED, _not_found("agent_not_found")),
    ),
    # An admin of another tenant addresses an agent id of its own tenant: it sees no key of
    # the owner's agent, may mint one in its own tenant, and cannot revoke the owner's.
    ("tenants:agent-api-keys", "GET"): Entry(
        "GET",
        "/api/v1/agents/{agent}/api-keys",
        access=Access(AGENT_DENIED, ALLOWED),
    ),
    ("tenants:agent-api-keys", "POST"): Entry(
        "POST",
        "/api/v1/agents/{agent}/api-keys",
        body=lambda w: {"permissions": "read"},
        owner=200,
        access=Access(AGENT_DENIED, ALLOWED),
    ),
    ("tenants:agent-api-key-revoke", "DELETE"): Entry(
        "DELETE",
        "/api/v1/agents/{agent}/api-keys/{agent_key_prefix}",
        access=Access(AGENT_DENIED, _not_found("api_key_not_found")),
    ),
    # Agents' public keys are tenant-level: any reader of the tenant may list them.
    ("tenants:agent-key-list", "GET"): Entry("GET", "/api/v1/agents/{agent}/keys" + T, access=TENANT_LEVEL_READ),
    ("tenants:agent-key-revoke", "DELETE"): Entry(
        "DELETE",
        "/api/v1/agents/{agent}/keys/1" + T,
        access=Access(NOT_ADMIN, TENANT_DENIED),
    ),
    # A tenant admin sees its own tenant only (checked for leaks below).
    ("events:admin-overview", "GET"): Entry("GET", "/api/v1/admin/overview", access=Access(NOT_ADMIN, ALLOWED)),
    ("events:admin-tenants", "GET"): Entry("GET", "/api/v1/admin/tenants", access=Access(NOT_ADMIN, ALLOWED)),
    ("events:admin-stores", "GET"): Entry("GET", "/api/v1/admin/stores", access=Access(NOT_ADMIN, ALLOWED)),
    ("events:admin-agents", "GET"): Entry("GET", "/api/v1/admin/agents", access=Access(NOT_ADMIN, ALLOWED)),
    # --- x402 payments -----------------------------------------------------------------------
    ("payments:payments", "POST"): Entry("POST", "/api/v1/x402/payments", body=_intent_body, owner=200, access=STREAM),
    ("payments:payments", "GET"): Entry("GET", "/api/v1/x402/payments" + Q, access=STREAM),
    ("payments:payment-detail", "GET"): Entry(
        "GET", "/api/v1/x402/payments/{intent}", access=_by_id("payment_not_found")
    ),
    ("payments:payment-receipt", "GET"): Entry(
        "GET", "/api/v1/x402/payments/{intent}/receipt", access=_by_id("payment_not_found")
    ),
    ("payments:batches", "POST"): Entry(
        "POST",
        "/api/v1/x402/batches",
        body=lambda w: {**_stream(w), "intent_ids": [w.ids["spare_intent"]]},
        owner=200,
        access=STREAM,
    ),
    ("payments:batch-settle", "POST"): Entry(
        "POST",
        "/api/v1/x402/batches/settle",
        body=lambda w: {"batch_id": w.ids["payment_batch"], "tx_hash": "0x" + "11" * 32},
        access=_by_id("batch_not_found"),
    ),
    ("payments:batch-detail", "GET"): Entry(
        "GET", "/api/v1/x402/batches/{payment_batch}", access=_by_id("batch_not_found")
    ),
    # --- schema registry (tenant-level: a store-scoped key reads, never writes) --------------
    ("schemas:collection", "GET"): Entry("GET", "/api/v1/schemas" + T, access=TENANT_LEVEL_READ),
    ("schemas:collection", "POST"): Entry(
        "POST",
        "/api/v1/schemas",
        body=lambda w: {"tenantId": w.ids["tenant"], "eventType": "matrix.other", "schemaJson": {"type": "object"}},
        owner=200,
        access=Access(STORE_DENIED, TENANT_DENIED),
    ),
    ("schemas:validate", "POST"): Entry(
        "POST",
        "/api/v1/schemas/validate",
        body=lambda w: {"tenantId": w.ids["tenant"], "eventType": "matrix.thing", "payload": {}},
        access=TENANT_LEVEL_READ,
    ),
    ("schemas:validation-mode", "GET"): Entry("GET", "/api/v1/schemas/validation-mode" + T, access=TENANT_LEVEL_READ),
    ("schemas:validation-mode", "PUT"): Entry(
        "PUT",
        "/api/v1/schemas/validation-mode",
        body=lambda w: {"tenantId": w.ids["tenant"], "mode": "enforce"},
        access=Access(NOT_ADMIN, TENANT_DENIED),
    ),
    ("schemas:latest", "GET"): Entry(
        "GET", "/api/v1/schemas/event-type/matrix.thing/latest" + T, access=TENANT_LEVEL_READ
    ),
    ("schemas:by-type", "GET"): Entry("GET", "/api/v1/schemas/event-type/matrix.thing" + T, access=TENANT_LEVEL_READ),
    ("schemas:status", "PUT"): Entry(
        "PUT",
        "/api/v1/schemas/{schema}/status",
        body=lambda w: {"status": "deprecated"},
        access=Access(STORE_DENIED, _not_found("schema_not_found")),
    ),
    ("schemas:detail", "GET"): Entry(
        "GET",
        "/api/v1/schemas/{schema}",
        access=Access(ALLOWED, _not_found("schema_not_found")),
    ),
    ("schemas:detail", "DELETE"): Entry(
        "DELETE",
        "/api/v1/schemas/{schema}",
        access=Access(NOT_ADMIN, _not_found("schema_not_found")),
    ),
    # --- commitments, proofs, logs, bundles, anchoring ---------------------------------------
    ("commitments:ves-commit-and-anchor", "POST"): Entry(
        "POST", "/api/v1/ves/commitments/anchor", body=_stream, access=STREAM
    ),
    ("commitments:anchor-status", "GET"): Entry("GET", "/api/v1/anchor/status", access=STATELESS),
    ("commitments:sequencer-keys", "GET"): Entry("GET", "/api/v1/sequencer/keys", access=STATELESS),
    # The separate anchor service's routes: the bootstrap admin only, even a tenant admin is refused.
    ("anchor-compat:pending", "GET"): Entry(
        "GET", "/v1/commitments/pending", owner=403, access=Access(BOOTSTRAP_ONLY, BOOTSTRAP_ONLY)
    ),
    ("anchor-compat:anchored", "POST"): Entry(
        "POST",
        "/v1/commitments/{ves_batch}/anchored",
        body=lambda w: {"chain_tx_hash": "ab" * 32, "chain_id": 1},
        owner=403,
        access=Access(BOOTSTRAP_ONLY, BOOTSTRAP_ONLY),
    ),
}


def _commitment_family(ves: bool) -> dict[tuple[str, str], Entry]:
    """The commitment, proof, log, bundle and anchor routes of one stream kind (twins)."""
    url, name = ("/api/v1/ves/", "commitments:ves-") if ves else ("/api/v1/", "commitments:")
    batch = "{ves_batch}" if ves else "{legacy_batch}"
    event = "{ves_event}" if ves else "{event}"
    root = "merkle_root" if ves else "events_root"

    def next_range(w: World) -> Any:
        return {**_stream(w), "sequence_start": 3, "sequence_end": 3}

    def anchor_body(w: World) -> Any:
        return {"batch_id": w.ids["ves_batch" if ves else "legacy_batch"]}

    commitment_hidden = _by_id("commitment_not_found")
    return {
        (f"{name}anchor", "POST"): Entry(
            "POST", f"{url}anchor", body=anchor_body, access=_admin_by_id("commitment_not_found")
        ),
        (f"{name}anchor-verify", "GET"): Entry("GET", f"{url}anchor/{batch}/verify", access=commitment_hidden),
        (f"{name}commitments", "GET"): Entry("GET", f"{url}commitments{Q}", access=STREAM),
        (f"{name}commitments", "POST"): Entry("POST", f"{url}commitments", body=next_range, access=STREAM),
        (f"{name}commitment-detail", "GET"): Entry("GET", f"{url}commitments/{batch}", access=commitment_hidden),
        (f"{name}proof-verify", "POST"): Entry("POST", f"{url}proofs/verify", body=_zero_proof(root), access=STATELESS),
        (f"{name}proof", "GET"): Entry("GET", f"{url}proofs/1{Q}", access=STREAM),
        (f"{name}log-checkpoint", "GET"): Entry("GET", f"{url}log/checkpoint{Q}", access=STREAM),
        (f"{name}log-inclusion", "GET"): Entry("GET", f"{url}log/proofs/inclusion{Q}&sequence_number=1", access=STREAM),
        (f"{name}log-consistency", "GET"): Entry("GET", f"{url}log/proofs/consistency{Q}&first=1", access=STREAM),
        (f"{name}event-bundle", "GET"): Entry("GET", f"{url}events/{event}/bundle", access=_by_id("event_not_found")),
    }


MATRIX.update(_commitment_family(ves=False))
MATRIX.update(_commitment_family(ves=True))

# The reference's `stark` routes: every caller, after authentication, gets 501 (no data read).
NOT_IMPLEMENTED: Outcome = (501, "not_implemented")
_STARK = Access(NOT_IMPLEMENTED, NOT_IMPLEMENTED)
MATRIX.update(
    {
        (f"commitments:{name}", method): Entry(method, path, access=_STARK, owner=501)
        for name, method, path in (
            ("ves-validity-inputs", "GET", "/api/v1/ves/validity/{ves_batch}/inputs"),
            ("ves-validity-proofs", "GET", "/api/v1/ves/validity/{ves_batch}/proofs"),
            ("ves-validity-proofs", "POST", "/api/v1/ves/validity/{ves_batch}/proofs"),
            ("ves-validity-proof", "GET", "/api/v1/ves/validity/proofs/{ves_batch}"),
            ("ves-validity-proof-verify", "GET", "/api/v1/ves/validity/proofs/{ves_batch}/verify"),
            ("ves-compliance-inputs", "POST", "/api/v1/ves/compliance/{ves_event}/inputs"),
            ("ves-compliance-proofs", "GET", "/api/v1/ves/compliance/{ves_event}/proofs"),
            ("ves-compliance-proofs", "POST", "/api/v1/ves/compliance/{ves_event}/proofs"),
            ("ves-compliance-proof", "GET", "/api/v1/ves/compliance/proofs/{ves_event}"),
            ("ves-compliance-proof-verify", "GET", "/api/v1/ves/compliance/proofs/{ves_event}/verify"),
        )
    }
)

# The Django admin site is for staff sessions, not API credentials (tests/reliability/test_secrets.py).
EXCLUDED_NAMESPACES = frozenset({"admin"})
_METHODS = ("get", "post", "put", "patch", "delete")


def routed_operations() -> set[tuple[str, str]]:
    """Every (namespaced URL name, HTTP method) the URL resolver can dispatch."""
    found: set[tuple[str, str]] = set()

    def walk(patterns: list[Any], namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace in EXCLUDED_NAMESPACES:
                    continue
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern):
                assert pattern.name, f"unnamed route {pattern.pattern}"
                view = getattr(pattern.callback, "view_class", None)
                # A function view (the probes) answers GET.
                methods = {"get"} if view is None else {m for m in _METHODS if hasattr(view, m)}
                found.update((f"{namespace}{pattern.name}", m.upper()) for m in methods)

    walk(get_resolver().url_patterns, "")
    return found
