"""``chain_tip``: a stream's latest chain link and its head, read together in one statement."""

from __future__ import annotations

import uuid

import pytest

from commitments.selectors import chain_tip
from commitments.services.commitments import commitment_create, commitment_seal_next
from streams.kinds import StreamKind
from tests.conftest import IngestPoster, Persona, legacy_event

pytestmark = pytest.mark.django_db


def test_a_stream_never_written_has_no_link_and_head_zero(owner: Persona) -> None:
    tip = chain_tip(tenant_id=owner.tenant_id, store_id=uuid.uuid4(), kind=StreamKind.LEGACY)

    assert (tip.last, tip.head, tip.next_start) == (None, 0, 1)


def test_the_tip_follows_the_chain_and_the_head_and_ignores_on_request_rows(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    store = uuid.uuid4()
    assert (
        post_ingest(owner.client, {"events": [legacy_event(owner.tenant_id, store) for _ in range(5)]}).status_code
        == 200
    )
    tip = chain_tip(tenant_id=owner.tenant_id, store_id=store, kind=StreamKind.LEGACY)
    assert (tip.last, tip.head, tip.next_start) == (None, 5, 1)

    sealed = commitment_seal_next(tenant_id=owner.tenant_id, store_id=store, kind=StreamKind.LEGACY, max_events=3)
    assert sealed is not None
    beside = commitment_create(
        tenant_id=owner.tenant_id, store_id=store, kind=StreamKind.LEGACY, sequence_start=2, sequence_end=5
    )
    assert beside.commitment.on_request

    tip = chain_tip(tenant_id=owner.tenant_id, store_id=store, kind=StreamKind.LEGACY)
    assert tip.last == sealed.commitment
    assert (tip.head, tip.next_start) == (5, 4)
    assert chain_tip(tenant_id=owner.tenant_id, store_id=store, kind=StreamKind.VES) == chain_tip(
        tenant_id=owner.tenant_id, store_id=uuid.uuid4(), kind=StreamKind.VES
    )
