"""The anchoring task names the commitment's tenant (docs/scaling.md) on the in-process chain.

``commitments`` is keyed ``(tenant_id, batch_id)``, so another tenant may hold a commitment with
the same batch id (its twin here): anchoring one never locks or writes the twin. A task queued by
the previous release with the batch id alone still anchors (its tenant is looked up once, by id).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from commitments.tasks import commitment_anchor_task
from sequencer_project.resilience import get_breaker
from tests.commitments.helpers import create, ingest_ves_case
from tests.sequencer_project.broker_helpers import take_task_messages
from tests.tenants.factories import make_tenant
from tests.ves.ves_case_vectors import CASES

pytestmark = pytest.mark.django_db

CHAIN = {
    "ANCHOR_RPC_URL": "eth-tester://",
    "ANCHOR_PRIVATE_KEY": "0x" + bytes(range(1, 33)).hex(),
    "VES_SEQUENCER_SIGNING_KEY": bytes(range(32)).hex(),
}
COLUMNS = (
    "batch_id, store_id, stream_kind, ves_version, tree_depth, leaf_count, padded_leaf_count, merkle_root, "
    "prev_state_root, new_state_root, sequence_start, sequence_end, committed_at, on_request"
)


@pytest.fixture(autouse=True)
def _closed_breaker() -> Iterator[None]:
    get_breaker("anchor", failure_threshold=5, reset_timeout=60.0).reset()
    yield
    get_breaker("anchor", failure_threshold=5, reset_timeout=60.0).reset()


def _sealed(admin_client: APIClient, django_capture_on_commit_callbacks: Any) -> tuple[str, str]:
    """A sealed VES commitment; its ``commitments.commitment_anchor`` message taken off the broker."""
    case = CASES[3]
    ingest_ves_case(admin_client, case)
    with django_capture_on_commit_callbacks(execute=True):
        response = create(admin_client, "ves/", case["tenant_id"], case["store_id"], 1, 4)
    assert response.status_code in (200, 201), response.content
    batch_id = response.json()["batch_id"]
    taken = take_task_messages(
        "commitments", "commitments.commitment_anchor", wanted=lambda args: args[-1] == batch_id, count=1
    )
    assert taken == [(case["tenant_id"], batch_id)]  # tenant first: one shard
    return case["tenant_id"], batch_id


def _twin(batch_id: str) -> uuid.UUID:
    """The same commitment under another tenant; that tenant's id."""
    other = make_tenant().id
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO commitments (tenant_id, {COLUMNS}) SELECT %s, {COLUMNS} FROM commitments WHERE batch_id = %s",  # noqa: S608
            [other, batch_id],
        )
    return other


def _anchor_tx(tenant_id: Any, batch_id: str) -> bytes | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT chain_tx_hash FROM commitments WHERE tenant_id = %s AND batch_id = %s", [tenant_id, batch_id]
        )
        tx: bytes | None = cursor.fetchone()[0]
    return tx


@override_settings(**CHAIN)
def test_the_task_anchors_its_tenants_commitment_and_never_the_twin(
    admin_client: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    tenant_id, batch_id = _sealed(admin_client, django_capture_on_commit_callbacks)
    other = _twin(batch_id)

    tx_hash = commitment_anchor_task.apply(args=(tenant_id, batch_id)).get()

    assert tx_hash is not None
    assert bytes(_anchor_tx(tenant_id, batch_id) or b"").hex() == tx_hash
    assert _anchor_tx(other, batch_id) is None


@override_settings(**CHAIN)
def test_a_task_queued_with_the_batch_id_alone_still_anchors(
    admin_client: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    tenant_id, batch_id = _sealed(admin_client, django_capture_on_commit_callbacks)

    tx_hash = commitment_anchor_task.apply(args=(batch_id,)).get()

    assert tx_hash is not None
    assert bytes(_anchor_tx(tenant_id, batch_id) or b"").hex() == tx_hash
    again = commitment_anchor_task.apply(args=(tenant_id, batch_id)).get()
    assert again == tx_hash  # idempotent: anchored already
