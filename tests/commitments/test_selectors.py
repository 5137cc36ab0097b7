"""Reads of commitments by id name the caller's tenant (STYLE rule 7)."""

from __future__ import annotations

import uuid

import pytest

from commitments.selectors import commitment_get_for_tenant, commitment_list
from commitments.services.commitments import commitment_create
from sequencer_project.db.tenant_scope import EVERY_TENANT, TenantScope
from streams.kinds import StreamKind
from tests.conftest import IngestPoster, Persona, legacy_event


def test_a_commitment_is_found_for_its_tenant_and_the_operator_and_not_for_another_tenant(
    owner: Persona, outsider: Persona, post_ingest: IngestPoster
) -> None:
    events = [legacy_event(owner.tenant.id, owner.store_id) for _ in range(2)]
    assert post_ingest(owner.client, {"agent_id": str(uuid.uuid4()), "events": events}).status_code == 200
    sealed = commitment_create(
        tenant_id=owner.tenant_id, store_id=owner.store_id, kind=StreamKind.LEGACY, sequence_start=1, sequence_end=2
    ).commitment

    def get(tenant_id: TenantScope, kind: StreamKind = StreamKind.LEGACY) -> uuid.UUID | None:
        found = commitment_get_for_tenant(tenant_id=tenant_id, batch_id=sealed.batch_id, kind=kind)
        return None if found is None else found.batch_id

    assert get(owner.tenant_id) == sealed.batch_id
    assert get(EVERY_TENANT) == sealed.batch_id
    assert get(outsider.tenant_id) is None
    assert get(owner.tenant_id, StreamKind.VES) is None


def test_a_tenant_id_of_none_is_refused_not_read_as_every_tenant(owner: Persona, post_ingest: IngestPoster) -> None:
    events = [legacy_event(owner.tenant.id, owner.store_id)]
    assert post_ingest(owner.client, {"agent_id": str(uuid.uuid4()), "events": events}).status_code == 200
    sealed = commitment_create(
        tenant_id=owner.tenant_id, store_id=owner.store_id, kind=StreamKind.LEGACY, sequence_start=1, sequence_end=1
    ).commitment

    with pytest.raises(TypeError, match="EVERY_TENANT"):
        commitment_get_for_tenant(tenant_id=None, batch_id=sealed.batch_id, kind=StreamKind.LEGACY)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="EVERY_TENANT"):
        commitment_list(
            kind=StreamKind.LEGACY,
            tenant_id=None,  # type: ignore[arg-type]
            store_id=None,
            anchored=None,
            limit=10,
            offset=0,
        )
    listed = commitment_list(
        kind=StreamKind.LEGACY, tenant_id=EVERY_TENANT, store_id=owner.store_id, anchored=None, limit=10, offset=0
    )
    assert [c.batch_id for c in listed] == [sealed.batch_id]
