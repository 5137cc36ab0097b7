"""A projection that stops while its stream moves, and open dead letters, degrade ``/health/detailed``.

Payloads are sealed at rest in every test (tests/settings.py), so a tenant whose key leaves the
ring is exactly the failure a deployment sees: its stream stalls, in order and alone, and
resumes where it stopped once the key is back.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from events.models import ProjectionDeadLetter
from events.projections.entity_state import ENTITY_STATE
from events.projections.selectors import projection_stalled_count
from events.services.projections import projection_advance, projection_run_all
from tests.conftest import IngestPoster, Persona
from tests.events.projections.helpers import PoisonProjection, checkpoint_of, entity_rows, seed

pytestmark = pytest.mark.django_db

OTHER_KEY = "2:" + "ab" * 32


@pytest.fixture
def stall_at_once(settings: Any) -> None:
    settings.PROJECTION_STALL_SECONDS = 0


def _projections(admin_client: Any) -> dict[str, Any]:
    response = admin_client.get("/health/detailed")
    assert response.status_code == 200
    component: dict[str, Any] = response.json()["components"]["projections"]
    return component


def _run_all() -> None:
    projection_run_all(batch_size=500, time_budget_seconds=30)


def test_a_stream_the_projection_has_not_reached_degrades_health_until_it_is_projected(
    owner: Persona, post_ingest: IngestPoster, admin_client: Any, stall_at_once: None
) -> None:
    seed(owner, post_ingest, [{"total": 1}, {"total": 2}])

    stalled = _projections(admin_client)
    assert stalled["status"] == "degraded"
    assert stalled["stalled_streams"] == 1
    assert stalled["max_lag_events"] == 2

    _run_all()

    healthy = _projections(admin_client)
    assert healthy == {**healthy, "status": "healthy", "stalled_streams": 0, "dead_letters_open": 0}
    assert healthy["max_lag_events"] == 0


def test_an_idle_projection_is_not_stalled_by_an_event_younger_than_the_stall_time(
    owner: Persona, post_ingest: IngestPoster, admin_client: Any, settings: Any
) -> None:
    settings.PROJECTION_STALL_SECONDS = 3600
    seed(owner, post_ingest, [{"total": 1}])

    assert projection_stalled_count() == 0
    assert _projections(admin_client)["status"] == "healthy"


def test_a_missing_payload_key_stalls_only_its_stream_and_it_resumes_in_order_when_the_key_is_back(
    owner: Persona, outsider: Persona, post_ingest: IngestPoster, admin_client: Any, settings: Any, stall_at_once: None
) -> None:
    seed(owner, post_ingest, [{"status": "new", "total": 1}, {"status": "paid"}])
    seed(outsider, post_ingest, [{"status": "new"}])
    settings.PAYLOAD_ENCRYPTION_KEYS_BY_TENANT = orjson.dumps({str(owner.tenant_id): OTHER_KEY}).decode()

    _run_all()  # never raises: the other tenant's stream is projected, this one waits

    assert checkpoint_of(ENTITY_STATE, owner.tenant_id, owner.store_id) == 0
    assert checkpoint_of(ENTITY_STATE, outsider.tenant_id, outsider.store_id) == 1
    assert _projections(admin_client)["stalled_streams"] == 1

    settings.PAYLOAD_ENCRYPTION_KEYS_BY_TENANT = orjson.dumps(
        {str(owner.tenant_id): f"{OTHER_KEY},{settings.PAYLOAD_ENCRYPTION_KEYS}"}
    ).decode()
    _run_all()

    assert checkpoint_of(ENTITY_STATE, owner.tenant_id, owner.store_id) == 2
    state = entity_rows(owner.tenant_id, owner.store_id)[("order", "order-1")][-1]
    assert orjson.loads(state) == {"status": "paid", "total": 1}
    assert _projections(admin_client)["status"] == "healthy"


def test_an_open_dead_letter_degrades_health_until_it_is_resolved(
    owner: Persona, post_ingest: IngestPoster, admin_client: Any, poison: PoisonProjection
) -> None:
    seed(owner, post_ingest, [{"a": 1}, {"poison": True}])
    _run_all()
    projection_advance(projection=poison.name, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=100)

    degraded = _projections(admin_client)
    assert degraded["status"] == "degraded"
    assert degraded["dead_letters_open"] == 1

    poison.cured = True
    entry = ProjectionDeadLetter.objects.get(projection=poison.name)
    retried = admin_client.post(f"/api/v1/admin/dlq/{entry.id}/retry?tenant_id={owner.tenant_id}")
    assert retried.status_code == 200, retried.content

    assert _projections(admin_client)["status"] == "healthy"
