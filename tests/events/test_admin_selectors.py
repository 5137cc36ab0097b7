"""The tenant page's streams panel: one selector, one statement, the same figures as the lag API's."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from events.admin_selectors import TenantStreamRow, tenant_streams_panel_get
from events.projections.entity_state import ENTITY_STATE
from events.projections.selectors import ProjectionLag, projection_lag_list
from events.services.projections import projection_advance
from tests.conftest import IngestPoster, Persona
from tests.events.projections.helpers import PoisonProjection, seed

pytestmark = pytest.mark.django_db


def _by_stream(lag: ProjectionLag) -> tuple[str, uuid.UUID]:
    return lag.projection, lag.store_id


@pytest.fixture
def two_streams(owner: Persona, post_ingest: IngestPoster, poison: PoisonProjection) -> dict[uuid.UUID, int]:
    """The head of each of the owner's two legacy streams, in store order: its own store with 3
    events (``entity_state`` at 2) and another with 1; ``poison`` is a second projection."""
    other = replace(owner, store_id=uuid.uuid4())
    seed(owner, post_ingest, [{"a": 1}] * 3)
    seed(other, post_ingest, [{"a": 1}])
    projection_advance(projection=ENTITY_STATE, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=2)
    return dict(sorted({owner.store_id: 3, other.store_id: 1}.items()))


def test_the_panel_holds_every_stream_and_every_projection_lag(
    owner: Persona, two_streams: dict[uuid.UUID, int], poison: PoisonProjection
) -> None:
    with CaptureQueriesContext(connection) as queries:
        panel = tenant_streams_panel_get(tenant_id=owner.tenant_id)

    assert len(queries) == 1
    assert [(s.store_id, s.stream_kind, s.head) for s in panel.streams] == [
        (store_id, "legacy", head) for store_id, head in two_streams.items()
    ]
    assert all(isinstance(s, TenantStreamRow) and s.last_activity is not None for s in panel.streams)
    # The same figures as the lag API's, which orders them worst lag first (panel: registration
    # order, then store).
    api_lags = projection_lag_list(tenant_id=owner.tenant_id, limit=1000)
    assert sorted(panel.lags, key=_by_stream) == sorted(api_lags, key=_by_stream)
    ours = [
        (lag.projection, lag.store_id, lag.checkpoint)
        for lag in panel.lags
        if lag.projection in (ENTITY_STATE, poison.name)
    ]
    assert ours == [(ENTITY_STATE, store_id, 2 if store_id == owner.store_id else 0) for store_id in two_streams] + [
        (poison.name, store_id, 0) for store_id in two_streams
    ]


def test_the_tenant_page_reads_streams_and_lags_in_one_statement(
    staff_client: Client, owner: Persona, two_streams: dict[uuid.UUID, int]
) -> None:
    url = f"/admin/tenants/tenant/{owner.tenant_id}/change/"
    with CaptureQueriesContext(connection) as queries:
        page = staff_client.get(url)

    assert page.status_code == 200
    reads = [q["sql"] for q in queries if "sequence_counters" in q["sql"]]
    assert len(reads) == 1, reads
