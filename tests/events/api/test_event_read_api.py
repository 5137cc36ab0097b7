"""Head, range, event-by-id and entity-history reads, with tenant and store isolation."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import IngestPoster, Persona, api_client, legacy_event
from tests.tenants.factories import issue_key

pytestmark = pytest.mark.django_db


def _seed(persona: Persona, post_ingest: IngestPoster, count: int, **overrides: Any) -> list[dict[str, Any]]:
    events = [legacy_event(persona.tenant_id, persona.store_id, **overrides) for _ in range(count)]
    assert post_ingest(persona.client, {"events": events}).status_code == 200
    return events


def _stream(persona: Persona) -> str:
    return f"tenant_id={persona.tenant_id}&store_id={persona.store_id}"


def test_head_is_zero_for_a_stream_never_written(owner: Persona) -> None:
    response = owner.client.get(f"/api/v1/head?{_stream(owner)}")

    assert response.status_code == 200
    assert response.json() == {"head_sequence": 0}


def test_head_follows_ingest(owner: Persona, post_ingest: IngestPoster) -> None:
    _seed(owner, post_ingest, 7)

    assert owner.client.get(f"/api/v1/head?{_stream(owner)}").json() == {"head_sequence": 7}


@pytest.mark.parametrize(
    "query",
    ["", "tenant_id=x&store_id=00000000-0000-0000-0000-000000000001", "store_id=00000000-0000-0000-0000-000000000001"],
)
def test_head_needs_valid_stream_ids(owner: Persona, query: str) -> None:
    response = owner.client.get(f"/api/v1/head?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameter"


def test_head_of_another_tenant_is_refused(owner: Persona, outsider: Persona) -> None:
    response = outsider.client.get(f"/api/v1/head?{_stream(owner)}")

    assert response.status_code == 403
    assert response.json()["code"] == "tenant_access_denied"


def test_events_range_is_inclusive_and_ordered(owner: Persona, post_ingest: IngestPoster) -> None:
    events = _seed(owner, post_ingest, 10)

    body = owner.client.get(f"/api/v1/events?{_stream(owner)}&from=3&limit=4").json()

    assert body["count"] == 4
    assert [e["envelope"]["sequence_number"] for e in body["events"]] == [3, 4, 5, 6]
    assert [e["envelope"]["event_id"] for e in body["events"]] == [e["event_id"] for e in events[2:6]]
    first = body["events"][0]
    assert first["envelope"]["payload"] == events[2]["payload"]
    assert first["envelope"]["tenant_id"] == str(owner.tenant_id)
    assert "sequenced_at" in first
    assert "command_id" not in first["envelope"]


def test_events_from_zero_means_from_one_without_losing_an_event(owner: Persona, post_ingest: IngestPoster) -> None:
    _seed(owner, post_ingest, 3)

    body = owner.client.get(f"/api/v1/events?{_stream(owner)}&from=0&limit=3").json()

    assert [e["envelope"]["sequence_number"] for e in body["events"]] == [1, 2, 3]


def test_events_default_limit_and_cap(owner: Persona, post_ingest: IngestPoster) -> None:
    _seed(owner, post_ingest, 120)

    default = owner.client.get(f"/api/v1/events?{_stream(owner)}").json()
    capped = owner.client.get(f"/api/v1/events?{_stream(owner)}&limit=5000").json()

    assert default["count"] == 100
    assert capped["count"] == 120


@pytest.mark.parametrize("query", ["limit=0", "limit=-1", "from=-1", "limit=abc"])
def test_events_refuses_bad_paging(owner: Persona, query: str) -> None:
    response = owner.client.get(f"/api/v1/events?{_stream(owner)}&{query}")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameter"


@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/entities/order/order-1"])
def test_a_position_beyond_bigint_is_an_invalid_parameter(owner: Persona, path: str) -> None:
    """Found by schemathesis: PostgreSQL refused it as "bigint out of range", a 500."""
    response = owner.client.get(f"{path}?{_stream(owner)}&from={2**63}")

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_parameter"
    assert owner.client.get(f"{path}?{_stream(owner)}&from={2**63 - 1}").json()["count"] == 0


def test_events_past_the_head_is_empty(owner: Persona, post_ingest: IngestPoster) -> None:
    _seed(owner, post_ingest, 2)

    body = owner.client.get(f"/api/v1/events?{_stream(owner)}&from=3").json()

    assert body == {"events": [], "count": 0}


def test_a_hole_below_the_head_is_reported_as_a_conflict(owner: Persona, post_ingest: IngestPoster) -> None:
    from django.db import connection

    _seed(owner, post_ingest, 3)
    with connection.cursor() as cursor:  # simulate corruption the invariant forbids
        cursor.execute("DELETE FROM events WHERE tenant_id = %s AND sequence_number = 2", [owner.tenant_id])

    response = owner.client.get(f"/api/v1/events?{_stream(owner)}")

    assert response.status_code == 409
    assert response.json()["code"] == "sequence_gap"


def test_event_by_id_returns_the_event(owner: Persona, post_ingest: IngestPoster) -> None:
    command_id = str(uuid.uuid4())
    event = _seed(owner, post_ingest, 1, command_id=command_id, base_version=0, signature=[1, 2, 255])[0]

    body = owner.client.get(f"/api/v1/events/{event['event_id']}").json()

    envelope = body["envelope"]
    assert envelope["event_id"] == event["event_id"]
    assert envelope["command_id"] == command_id
    assert envelope["base_version"] == 0
    assert envelope["signature"] == [1, 2, 255]
    assert envelope["sequence_number"] == 1
    assert envelope["created_at"].endswith("Z")


def test_event_by_id_of_another_tenant_is_not_found(
    owner: Persona, outsider: Persona, post_ingest: IngestPoster
) -> None:
    event = _seed(owner, post_ingest, 1)[0]

    response = outsider.client.get(f"/api/v1/events/{event['event_id']}")
    explicit = outsider.client.get(f"/api/v1/events/{event['event_id']}?tenant_id={owner.tenant_id}")

    assert response.status_code == 404
    assert response.json()["code"] == "event_not_found"
    assert explicit.status_code == 404
    assert "payload" not in response.content.decode()


def test_event_by_id_outside_the_store_scope_is_not_found(
    owner: Persona, member: Persona, post_ingest: IngestPoster
) -> None:
    event = _seed(owner, post_ingest, 1)[0]

    assert member.client.get(f"/api/v1/events/{event['event_id']}").status_code == 404


def test_the_bootstrap_admin_reads_any_tenant_by_naming_it(
    owner: Persona, admin_client: Any, post_ingest: IngestPoster
) -> None:
    event = _seed(owner, post_ingest, 1)[0]

    without = admin_client.get(f"/api/v1/events/{event['event_id']}")
    named = admin_client.get(f"/api/v1/events/{event['event_id']}?tenant_id={owner.tenant_id}")

    assert without.status_code == 400
    assert named.status_code == 200


def test_event_by_id_with_a_bad_uuid_is_a_400(owner: Persona) -> None:
    response = owner.client.get("/api/v1/events/not-a-uuid")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameter"


def test_entity_history_pages_by_offset(owner: Persona, post_ingest: IngestPoster) -> None:
    _seed(owner, post_ingest, 5, entity_id="order-1")
    _seed(owner, post_ingest, 2, entity_id="order-2")

    first = owner.client.get(f"/api/v1/entities/order/order-1?{_stream(owner)}&limit=2").json()
    last = owner.client.get(f"/api/v1/entities/order/order-1?{_stream(owner)}&from=4&limit=2").json()
    beyond = owner.client.get(f"/api/v1/entities/order/order-1?{_stream(owner)}&from=10").json()

    assert first["entity_type"] == "order"
    assert first["entity_id"] == "order-1"
    assert [e["envelope"]["sequence_number"] for e in first["events"]] == [1, 2]
    assert (first["count"], first["total"], first["has_more"]) == (2, 5, True)
    assert [e["envelope"]["sequence_number"] for e in last["events"]] == [5]
    assert (last["count"], last["total"], last["has_more"]) == (1, 5, False)
    assert (beyond["count"], beyond["total"], beyond["has_more"]) == (0, 5, False)


def test_entity_history_limit_zero_means_the_default(owner: Persona, post_ingest: IngestPoster) -> None:
    _seed(owner, post_ingest, 3, entity_id="order-1")

    body = owner.client.get(f"/api/v1/entities/order/order-1?{_stream(owner)}&limit=0").json()

    assert body["count"] == 3


def test_entity_history_refuses_an_overlong_type(owner: Persona) -> None:
    response = owner.client.get(f"/api/v1/entities/{'t' * 129}/x?{_stream(owner)}")

    assert response.status_code == 400


def test_entity_history_of_another_store_is_refused_for_a_scoped_key(
    owner: Persona, member: Persona, post_ingest: IngestPoster
) -> None:
    _seed(owner, post_ingest, 1, entity_id="order-1")

    response = member.client.get(f"/api/v1/entities/order/order-1?{_stream(owner)}")

    assert response.status_code == 403
    assert response.json()["code"] == "store_access_denied"


def test_a_write_only_key_cannot_read(owner: Persona) -> None:
    client = api_client(issue_key(owner.tenant, can_read=False, can_write=True))

    response = client.get(f"/api/v1/head?{_stream(owner)}")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
