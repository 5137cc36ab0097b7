"""The leaves of records packed by PostgreSQL (``select_*_leaf_records.sql``) equal the Python leaf formats."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from commitments.selectors import leaf_hashes
from streams.kinds import StreamKind
from tests.conftest import legacy_event
from tests.events.ves_helpers import Agent, post_ves, register_key
from ves import legacy_merkle
from ves import merkle as ves_merkle
from ves.legacy_json import payload_hash

pytestmark = pytest.mark.django_db

# Entity names as users write them: any non-control, non-surrogate character, multi-byte included.
NAMES = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40).filter(str.strip)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entities=st.lists(st.tuples(NAMES, NAMES), min_size=1, max_size=5))
def test_legacy_leaves_hashed_in_sql_equal_ves_legacy_merkle(
    admin_client: APIClient, entities: list[tuple[str, str]]
) -> None:
    tenant, store = uuid.uuid4(), uuid.uuid4()
    events = [
        legacy_event(tenant, store, entity_type=entity_type, entity_id=entity_id, payload={"n": i})
        for i, (entity_type, entity_id) in enumerate(entities)
    ]
    body = {"events": events}
    response = admin_client.post("/api/v1/events/ingest", data=body, format="json")
    assert response.status_code == 200, response.content
    accepted = [r["sequence_number"] for r in response.json()["receipts"]]
    assert len(accepted) == len(events)  # every generated name is a valid entity
    expected = [
        legacy_merkle.leaf_hash(
            tenant_id=tenant,
            store_id=store,
            sequence_number=seq,
            payload_hash=payload_hash(event["payload"]),
            entity_type=event["entity_type"],
            entity_id=event["entity_id"],
        )
        for seq, event in zip(accepted, events, strict=True)
    ]
    got = leaf_hashes(
        tenant_id=tenant, store_id=store, kind=StreamKind.LEGACY, sequence_start=1, sequence_end=len(events)
    )
    assert got == expected


def test_ves_leaves_hashed_in_sql_equal_ves_merkle(admin_client: APIClient) -> None:
    agent = Agent(uuid.uuid4(), uuid.uuid4())
    assert register_key(admin_client, agent.tenant_id, agent.agent_id, 1, agent.public_key).status_code == 200
    events = [agent.event(entity_id=name) for name in ("order-1", "ордер-2", "注文-3", "🧾-4")]
    response = post_ves(admin_client, agent.agent_id, events)
    assert response.status_code == 200, response.content
    got = leaf_hashes(
        tenant_id=agent.tenant_id, store_id=agent.store_id, kind=StreamKind.VES, sequence_start=1, sequence_end=9
    )
    assert len(got) == 4  # the range passes the head: only the stored events come back
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sequence_number, event_signing_hash, agent_signature FROM ves_events"
            " WHERE tenant_id = %s AND store_id = %s ORDER BY sequence_number",
            [agent.tenant_id, agent.store_id],
        )
        rows = cursor.fetchall()
    assert got == [
        ves_merkle.leaf_hash(
            tenant_id=agent.tenant_id,
            store_id=agent.store_id,
            sequence_number=seq,
            event_signing_hash=bytes(signing_hash),
            agent_signature=bytes(signature),
        )
        for seq, signing_hash, signature in rows
    ]
