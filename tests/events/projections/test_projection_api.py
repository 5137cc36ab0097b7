"""Entity state, projection lag and dead-letter admin endpoints, with tenant isolation."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from rest_framework.test import APIClient

from audit.models import AuditLogEntry
from events.models import DeadLetterStatus, ProjectionDeadLetter
from events.projections.entity_state import ENTITY_STATE
from events.services.projections import projection_advance
from tests.conftest import IngestPoster, Persona, api_client
from tests.events.projections.helpers import PoisonProjection, registered, seed
from tests.tenants.factories import issue_key

pytestmark = pytest.mark.django_db


def _stream(persona: Persona) -> str:
    return f"tenant_id={persona.tenant_id}&store_id={persona.store_id}"


def _project(persona: Persona, projection: str = ENTITY_STATE) -> None:
    projection_advance(projection=projection, tenant_id=persona.tenant_id, store_id=persona.store_id, batch_size=100)


def test_entity_state_endpoint_serves_the_projected_state_and_lag(owner: Persona, post_ingest: IngestPoster) -> None:
    seed(owner, post_ingest, [{"status": "new", "total": 5}, {"status": "paid"}])
    _project(owner)
    seed(owner, post_ingest, [{"x": 1}], entity_id="other")

    response = owner.client.get(f"/api/v1/entities/order/order-1/state?{_stream(owner)}")

    assert response.status_code == 200
    body = response.json()
    assert body["version"] == 2
    assert body["last_sequence"] == 2
    assert body["state"] == {"status": "paid", "total": 5}
    assert body["projection"]["head"] == 3
    assert body["projection"]["checkpoint"] == 2
    assert body["projection"]["lag"] == 1


def test_entity_state_of_an_unprojected_entity_is_404(owner: Persona) -> None:
    response = owner.client.get(f"/api/v1/entities/order/nope/state?{_stream(owner)}")

    assert response.status_code == 404
    assert response.json()["code"] == "entity_state_not_found"


def test_entity_state_of_another_tenant_is_refused(
    owner: Persona, outsider: Persona, post_ingest: IngestPoster
) -> None:
    seed(owner, post_ingest, [{"a": 1}])
    _project(owner)

    response = outsider.client.get(f"/api/v1/entities/order/order-1/state?{_stream(owner)}")

    assert response.status_code == 403
    assert response.json()["code"] == "tenant_access_denied"


def test_entity_state_needs_a_stream(owner: Persona) -> None:
    response = owner.client.get("/api/v1/entities/order/order-1/state")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameter"


def test_projection_lag_lists_the_tenants_streams(owner: Persona, post_ingest: IngestPoster) -> None:
    seed(owner, post_ingest, [{"a": 1}] * 4)

    body = owner.client.get(f"/api/v1/projections/lag?tenant_id={owner.tenant_id}").json()

    mine = [s for s in body["streams"] if s["projection"] == ENTITY_STATE]
    assert [(s["store_id"], s["head"], s["checkpoint"], s["lag"]) for s in mine] == [(str(owner.store_id), 4, 0, 4)]


def test_a_store_scoped_caller_gets_the_lag_of_its_stores_only(
    owner: Persona, member: Persona, post_ingest: IngestPoster
) -> None:
    seed(owner, post_ingest, [{"a": 1}] * 2)
    seed(member, post_ingest, [{"a": 1}] * 3)
    two_stores = api_client(issue_key(owner.tenant, store_ids=[member.store_id, uuid.uuid4()]))

    for client in (member.client, two_stores):
        body = client.get(f"/api/v1/projections/lag?tenant_id={owner.tenant_id}").json()
        mine = [(s["store_id"], s["head"]) for s in body["streams"] if s["projection"] == ENTITY_STATE]
        assert mine == [(str(member.store_id), 3)]
    everything = owner.client.get(f"/api/v1/projections/lag?tenant_id={owner.tenant_id}").json()
    assert sorted((s["store_id"], s["head"]) for s in everything["streams"] if s["projection"] == ENTITY_STATE) == (
        sorted([(str(owner.store_id), 2), (str(member.store_id), 3)])
    )
    outside = member.client.get(f"/api/v1/projections/lag?tenant_id={owner.tenant_id}&store_id={owner.store_id}")
    assert outside.status_code == 403
    assert outside.json()["code"] == "store_access_denied"


def test_projection_lag_of_another_tenant_is_refused(owner: Persona, outsider: Persona) -> None:
    response = outsider.client.get(f"/api/v1/projections/lag?tenant_id={owner.tenant_id}")

    assert response.status_code == 403


@pytest.fixture
def dead_letter(owner: Persona, post_ingest: IngestPoster) -> Iterator[tuple[PoisonProjection, int]]:
    with registered(PoisonProjection(f"poison_{uuid.uuid4().hex[:8]}")) as projection:
        seed(owner, post_ingest, [{"poison": True}])
        _project(owner, projection.name)
        yield projection, ProjectionDeadLetter.objects.get(projection=projection.name).id


def test_admin_retry_endpoint_retries_and_audits(
    owner: Persona, dead_letter: tuple[PoisonProjection, int], admin_client: APIClient
) -> None:
    projection, entry_id = dead_letter
    projection.cured = True

    response = admin_client.post(f"/api/v1/admin/dlq/{entry_id}/retry")

    assert response.status_code == 200
    assert response.json()["succeeded"] is True
    assert response.json()["entry"]["status"] == "resolved"
    assert AuditLogEntry.objects.get(target_id=str(entry_id)).actor.startswith("api:")


def test_tenant_admin_may_discard_its_own_entry(owner: Persona, dead_letter: tuple[PoisonProjection, int]) -> None:
    _, entry_id = dead_letter

    response = owner.client.post(f"/api/v1/admin/dlq/{entry_id}/discard")

    assert response.status_code == 200
    assert ProjectionDeadLetter.objects.get(id=entry_id).status == DeadLetterStatus.DISCARDED
    again = owner.client.post(f"/api/v1/admin/dlq/{entry_id}/discard")
    assert again.status_code == 409
    assert again.json()["code"] == "dead_letter_closed"


def test_another_tenants_entry_is_not_found(outsider: Persona, dead_letter: tuple[PoisonProjection, int]) -> None:
    _, entry_id = dead_letter
    outsider_admin = api_client(issue_key(outsider.tenant, can_admin=True))

    response = outsider_admin.post(f"/api/v1/admin/dlq/{entry_id}/retry")

    assert response.status_code == 404
    assert response.json()["code"] == "dead_letter_not_found"
    assert ProjectionDeadLetter.objects.get(id=entry_id).attempts == 1


def test_a_store_scoped_admin_finds_only_the_entries_of_its_stores(
    owner: Persona, dead_letter: tuple[PoisonProjection, int]
) -> None:
    projection, entry_id = dead_letter
    projection.cured = True
    other_store_admin = api_client(issue_key(owner.tenant, can_admin=True, store_ids=[uuid.uuid4()]))
    own_store_admin = api_client(issue_key(owner.tenant, can_admin=True, store_ids=[owner.store_id]))

    for action in ("retry", "discard"):
        response = other_store_admin.post(f"/api/v1/admin/dlq/{entry_id}/{action}")
        assert response.status_code == 404
        assert response.json()["code"] == "dead_letter_not_found"
    assert ProjectionDeadLetter.objects.get(id=entry_id).status == DeadLetterStatus.PENDING

    response = own_store_admin.post(f"/api/v1/admin/dlq/{entry_id}/retry")
    assert response.status_code == 200
    assert response.json()["entry"]["status"] == "resolved"


def test_a_non_admin_key_may_not_retry(member: Persona, dead_letter: tuple[PoisonProjection, int]) -> None:
    _, entry_id = dead_letter

    response = member.client.post(f"/api/v1/admin/dlq/{entry_id}/retry")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize("raw_id", ["abc", "-1", "99999999999999999999"])
def test_a_malformed_or_unknown_id_is_a_clean_4xx(admin_client: APIClient, raw_id: str) -> None:
    response = admin_client.post(f"/api/v1/admin/dlq/{raw_id}/retry")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameter"


def test_an_unknown_id_is_404(admin_client: APIClient) -> None:
    response = admin_client.post("/api/v1/admin/dlq/987654321/discard")

    assert response.status_code == 404
    assert response.json()["code"] == "dead_letter_not_found"
