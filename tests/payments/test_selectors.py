"""Reads of intents and batches by id name the caller's tenant (STYLE rule 7)."""

from __future__ import annotations

import pytest

from payments.selectors import payment_batch_get_for_tenant, payment_batch_intent_ids, payment_intent_get_for_tenant
from sequencer_project.db.tenant_scope import EVERY_TENANT
from tests.conftest import Persona
from tests.payments.helpers import assembled_batch


def test_intents_and_batches_are_found_for_their_tenant_and_the_operator_and_not_for_another_tenant(
    owner: Persona, outsider: Persona
) -> None:
    batch = assembled_batch(owner, count=2)
    intent_ids = payment_batch_intent_ids(batch=batch)
    assert len(intent_ids) == 2

    for tenant_id in (owner.tenant_id, EVERY_TENANT):
        found_batch = payment_batch_get_for_tenant(tenant_id=tenant_id, batch_id=batch.batch_id)
        found_intent = payment_intent_get_for_tenant(tenant_id=tenant_id, intent_id=intent_ids[0])
        assert (found_batch.batch_id if found_batch else None) == batch.batch_id
        assert (found_intent.intent_id if found_intent else None) == intent_ids[0]
    assert payment_batch_get_for_tenant(tenant_id=outsider.tenant_id, batch_id=batch.batch_id) is None
    assert payment_intent_get_for_tenant(tenant_id=outsider.tenant_id, intent_id=intent_ids[0]) is None


def test_a_tenant_id_of_none_is_refused_not_read_as_every_tenant(owner: Persona) -> None:
    batch = assembled_batch(owner, count=1)
    intent_id = payment_batch_intent_ids(batch=batch)[0]

    with pytest.raises(TypeError, match="EVERY_TENANT"):
        payment_batch_get_for_tenant(tenant_id=None, batch_id=batch.batch_id)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="EVERY_TENANT"):
        payment_intent_get_for_tenant(tenant_id=None, intent_id=intent_id)  # type: ignore[arg-type]
