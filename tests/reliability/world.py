"""A populated tenant for the isolation matrix: one of every resource the API serves.

The owner's tenant holds, in the owner's store, legacy and VES events, a commitment and a
signed checkpoint of each stream, a schema, an x402 intent in a batch, a dead letter and an
agent with a signing key and an API key. The member has a read/write key of the same tenant
scoped to another store; the outsider has an admin key of another tenant.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from django.db import connection
from django.utils import timezone

from events.models import DeadLetterStatus, ProjectionDeadLetter
from events.services.projections import projection_advance
from tenants.credentials import api_key_hash
from tests.commitments.helpers import create, post_json
from tests.conftest import Persona, api_client, legacy_event
from tests.events.ves_helpers import Agent, post_ves, register_key
from tests.payments.helpers import Payer, post_intent
from tests.tenants.factories import issue_key, make_tenant

SIGNING_SEED = bytes(range(32))
ANCHOR_KEY = "0x" + bytes(range(1, 33)).hex()
# Anchoring on the in-process EVM, so the anchoring endpoints reach their access checks.
CHAIN_SETTINGS = {
    "ANCHOR_RPC_URL": "eth-tester://",
    "ANCHOR_PRIVATE_KEY": ANCHOR_KEY,
    "VES_SEQUENCER_SIGNING_KEY": SIGNING_SEED.hex(),
}
# Every tenant row of the owner carries this marker; no denied answer may contain it.
MARKER = "isolation-marker-7f3a"


@dataclass(frozen=True)
class World:
    owner: Persona
    member: Persona
    outsider: Persona
    agent: Agent
    payer: Payer
    ids: dict[str, str]

    def fill(self, template: str) -> str:
        return template.format(**self.ids)


def _ok(response: Any) -> Any:
    assert response.status_code in (200, 201), response.content
    return response.json()


def build_world() -> World:
    """Create the owner's resources through the real API (caller holds the test transaction)."""
    tenant = make_tenant(name=f"{MARKER}-owner")
    owner_key = issue_key(tenant, can_write=True, can_admin=True)
    owner = Persona(tenant, uuid.uuid4(), owner_key, api_client(owner_key))
    member_store = uuid.uuid4()
    member_key = issue_key(tenant, can_write=True, store_ids=[member_store])
    member = Persona(tenant, member_store, member_key, api_client(member_key))
    other = make_tenant()
    outsider_key = issue_key(other, can_write=True, can_admin=True)
    outsider = Persona(other, uuid.uuid4(), outsider_key, api_client(outsider_key))

    events = [
        legacy_event(tenant.id, owner.store_id, entity_id=f"{MARKER}-order", payload={"note": MARKER}) for _ in range(3)
    ]
    _ok(
        owner.client.post(
            "/api/v1/events/ingest", data=orjson.dumps({"events": events}), content_type="application/json"
        )
    )

    agent = Agent(tenant.id, owner.store_id)
    _ok(register_key(owner.client, tenant.id, agent.agent_id, 1, agent.public_key))
    ves = [agent.event({"note": MARKER}, entity_id=f"{MARKER}-order") for _ in range(3)]
    _ok(post_ves(owner.client, agent.agent_id, ves))
    agent_key = issue_key(tenant, can_write=True, agent_id=agent.agent_id)

    legacy_batch = _ok(create(owner.client, "", tenant.id, owner.store_id, 1, 2))["batch_id"]
    ves_batch = _ok(create(owner.client, "ves/", tenant.id, owner.store_id, 1, 2))["batch_id"]

    schema = _ok(
        post_json(
            owner.client,
            "/api/v1/schemas",
            {
                "tenantId": str(tenant.id),
                "eventType": "matrix.thing",
                "schemaJson": {"type": "object", "description": MARKER},
            },
        )
    )

    payer = Payer(owner).register()
    intent = _ok(post_intent(owner.client, payer.intent(nonce=1)))["intent_id"]
    spare_intent = _ok(post_intent(owner.client, payer.intent(nonce=2)))["intent_id"]
    payment_batch = _ok(
        post_json(
            owner.client,
            "/api/v1/x402/batches",
            {"tenant_id": str(tenant.id), "store_id": str(owner.store_id), "intent_ids": [intent]},
        )
    )
    projection_advance(projection="entity_state", tenant_id=tenant.id, store_id=owner.store_id, batch_size=100)

    now = timezone.now()
    dead_letter = ProjectionDeadLetter.objects.create(
        projection="entity_state",
        tenant_id=tenant.id,
        store_id=owner.store_id,
        stream_kind=1,
        sequence_number=1,
        event_id=uuid.UUID(events[0]["event_id"]),
        error_class="ValueError",
        error_message=MARKER,
        attempts=1,
        status=DeadLetterStatus.PENDING,
        next_retry_at=now,
        first_failed_at=now,
        last_failed_at=now,
    )

    ids = {
        "tenant": str(tenant.id),
        "store": str(owner.store_id),
        "event": events[0]["event_id"],
        "ves_event": ves[0]["event_id"],
        "entity": f"{MARKER}-order",
        "legacy_batch": legacy_batch,
        "ves_batch": ves_batch,
        "schema": schema["id"],
        "intent": intent,
        "spare_intent": spare_intent,
        "payment_batch": payment_batch["batch_id"],
        "dead_letter": str(dead_letter.id),
        "agent": str(agent.agent_id),
        "agent_key_prefix": api_key_hash(agent_key)[:12],
        "payer_agent": str(payer.agent_id),
    }
    return World(owner, member, outsider, agent, payer, ids)


# Tables whose rows are the tenant's state; api_keys' last_used_at is stamped on reads, so it
# is left out of the fingerprint.
_FINGERPRINT_EXCLUDED_COLUMNS = {"api_keys": {"last_used_at", "updated_at"}}


def tenant_fingerprint(tenant_id: uuid.UUID) -> dict[str, str]:
    """md5 of every row of ``tenant_id`` in every table with a ``tenant_id`` column."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.table_name, array_agg(c.column_name::text ORDER BY c.ordinal_position)"
            " FROM information_schema.columns c JOIN pg_class p ON p.relname = c.table_name"
            " WHERE c.table_schema = 'public' AND NOT p.relispartition AND p.relkind IN ('r', 'p')"
            " AND c.table_name IN (SELECT table_name FROM information_schema.columns"
            "   WHERE column_name = 'tenant_id' AND table_schema = 'public')"
            " GROUP BY c.table_name ORDER BY 1"
        )
        tables = cursor.fetchall()
        fingerprint: dict[str, str] = {}
        for table, columns in tables:
            kept = [c for c in columns if c not in _FINGERPRINT_EXCLUDED_COLUMNS.get(table, set())]
            row = "ROW(" + ", ".join(f'"{c}"' for c in kept) + ")::text"
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg({row}, '|' ORDER BY {row}), '')) FROM \"{table}\""  # noqa: S608
                " WHERE tenant_id = %s",
                [tenant_id],
            )
            count, digest = cursor.fetchone()
            fingerprint[table] = f"{count}:{digest}"
    return fingerprint
