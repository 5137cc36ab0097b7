"""Reads of commitments by id name the caller's tenant (STYLE rule 7)."""

from __future__ import annotations

import uuid

from commitments.selectors import commitment_get_for_tenant
from commitments.services.commitments import commitment_create
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

    def get(tenant_id: uuid.UUID | None, kind: StreamKind = StreamKind.LEGACY) -> uuid.UUID | None:
        found = commitment_get_for_tenant(tenant_id=tenant_id, batch_id=sealed.batch_id, kind=kind)
        return None if found is None else found.batch_id

    assert get(owner.tenant_id) == sealed.batch_id
    assert get(None) == sealed.batch_id
    assert get(outsider.tenant_id) is None
    assert get(owner.tenant_id, StreamKind.VES) is None
