"""``DB_SERVER_SIDE_BINDING=false`` (a pooler in transaction mode, docs/scaling.md "Connections"):
the connection's cursors are Django's ``ClientCursor``, which take text rows only. The reads that
ask for binary rows (event by id, range, entity history, the legacy bundle, the projection batch
read) read text there (``sequencer_project.db.kept_cursor.row_format``) and answer exactly what
they answer with server-side binding.

The setting is read when a connection is made (its cursor class), so each half of a test runs on
a connection (and pool) made anew with the setting as wanted: the tests run outside pytest-django's
wrapping transaction (``transaction=True``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from events.projections.entity_state import ENTITY_STATE
from events.services.projections import projection_rebuild
from tests.commitments.helpers import create, ingest_legacy_case
from tests.conftest import IngestPoster, Persona
from tests.events.projections.helpers import entity_rows, seed
from tests.ves.ves_case_vectors import CASES

pytestmark = pytest.mark.django_db(transaction=True)

SEED = bytes(range(32))


def _reconnect(*, server_side_binding: bool) -> None:
    """Make the next connection (and pool) with ``server_side_binding`` as given."""
    connection.close()
    if hasattr(connection, "close_pool"):
        connection.close_pool()
    connection.settings_dict["OPTIONS"]["server_side_binding"] = server_side_binding
    connection.ensure_connection()
    expected = psycopg.Cursor if server_side_binding else psycopg.ClientCursor
    assert isinstance(connection.connection.cursor(), expected)


@pytest.fixture(autouse=True)
def _restore_binding() -> Iterator[None]:
    before = connection.settings_dict["OPTIONS"].get("server_side_binding")
    yield
    _reconnect(server_side_binding=bool(before))


def _reads(owner: Persona, event_ids: list[str]) -> list[Any]:
    """The answers of the binary-row reads, status and body."""
    stream = f"tenant_id={owner.tenant_id}&store_id={owner.store_id}"
    paths = [f"/api/v1/events/{event_id}?tenant_id={owner.tenant_id}" for event_id in event_ids]
    paths += [f"/api/v1/events?{stream}&from=1&limit=10", f"/api/v1/entities/order/order-1?{stream}&limit=10"]
    answers = []
    for path in paths:
        response = owner.client.get(path)
        answers.append((path, response.status_code, json.loads(response.content)))
    return answers


def test_reads_answer_alike_with_and_without_server_side_binding(owner: Persona, post_ingest: IngestPoster) -> None:
    seed(owner, post_ingest, [{"status": "new", "total": 1}, {"status": "paid", "note": "ü"}, {"lines": [1, 2]}])
    event_ids = [e["envelope"]["event_id"] for e in _reads(owner, [])[-2][2]["events"]]
    _reconnect(server_side_binding=True)
    with_binding = _reads(owner, event_ids)

    _reconnect(server_side_binding=False)
    without = _reads(owner, event_ids)

    assert [status for _, status, _ in without] == [200] * 5
    assert without == with_binding


def test_projections_run_without_server_side_binding(owner: Persona, post_ingest: IngestPoster) -> None:
    seed(owner, post_ingest, [{"status": "new", "total": 1}, {"status": "paid", "lines": None}])
    _reconnect(server_side_binding=True)
    projection_rebuild(
        projection=ENTITY_STATE, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=500, actor="test"
    )
    with_binding = entity_rows(owner.tenant_id, owner.store_id)

    _reconnect(server_side_binding=False)
    rebuilt = projection_rebuild(
        projection=ENTITY_STATE, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=500, actor="test"
    )

    assert (rebuilt.applied, rebuilt.checkpoint) == (2, 2)
    assert entity_rows(owner.tenant_id, owner.store_id) == with_binding


@override_settings(VES_SEQUENCER_SIGNING_KEY=SEED.hex())
def test_the_legacy_bundle_is_served_without_server_side_binding(admin_client: APIClient) -> None:
    case = CASES[5]
    ingest_legacy_case(admin_client, case)
    assert create(admin_client, "", case["tenant_id"], case["store_id"], 1, len(case["events"])).status_code == 200
    url = f"/api/v1/events/{case['events'][0]['event_id']}/bundle?tenant_id={case['tenant_id']}"
    _reconnect(server_side_binding=True)
    with_binding = admin_client.get(url)

    _reconnect(server_side_binding=False)
    without = admin_client.get(url)

    assert (without.status_code, with_binding.status_code) == (200, 200)
    assert json.loads(without.content) == json.loads(with_binding.content)
