"""No x402 intent signed with an agent key is sequenced after the key's revocation committed.

An intent's signature is checked against the process's cached key (revocations reach every
process within 0.25 s), then the key is read again inside the intent's transaction,
share-locked to its commit, as a VES batch reads its keys (docs/auth.md). Real connections on
both sides: the revocation in one, the intent in another thread's.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction

from payments import errors
from payments.intent_requests import parse_payment_request
from payments.models import PaymentIntent
from payments.services.intents import SubmittedIntent, payment_intent_submit
from tenants.selectors import agent_signing_key_records_locked
from tenants.services import agent_key_register, agent_key_revoke
from tests.conftest import Persona
from tests.payments.helpers import Payer
from tests.sessions import in_thread, wait_for_lock_waiters

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def payer(owner: Persona) -> Payer:
    payer = Payer(owner)
    agent_key_register(
        tenant_id=owner.tenant_id, agent_id=payer.agent_id, key_id=1, public_key=payer.public_key, actor="test"
    )
    return payer


def _submit(payer: Payer, nonce: int, **extra: Any) -> SubmittedIntent:
    return payment_intent_submit(request=parse_payment_request(payer.intent(nonce=nonce, **extra)), actor="test")


def test_an_intent_checked_against_a_cached_key_is_refused_when_the_revocation_commits_first(payer: Payer) -> None:
    assert _submit(payer, 1).replayed is False  # the key is in this process's cache now

    with transaction.atomic():  # a revocation in progress: its row lock and update, not committed yet
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE agent_signing_keys SET status = 'revoked', revoked_at = now()"
                " WHERE tenant_id = %s AND agent_id = %s AND key_id = 1",
                [payer.persona.tenant_id, payer.agent_id],
            )
        thread, out = in_thread(lambda: _submit(payer, 2))  # the cache still holds the key active
        wait_for_lock_waiters()  # the intent, on the key's row
    thread.join(30)

    [result] = out
    assert isinstance(result, errors.PaymentAgentKeyNotFoundError), result
    assert PaymentIntent.objects.filter(tenant_id=payer.persona.tenant_id).count() == 1


def test_a_revocation_waits_for_the_intent_that_read_the_key_and_the_next_intent_is_refused(payer: Payer) -> None:
    assert _submit(payer, 1).replayed is False

    with transaction.atomic():  # an intent between its key read and its commit
        keys = agent_signing_key_records_locked(tenant_id=payer.persona.tenant_id, agent_id=payer.agent_id, key_ids=[1])
        assert keys[1].status == "active"
        thread, out = in_thread(
            lambda: agent_key_revoke(tenant_id=payer.persona.tenant_id, agent_id=payer.agent_id, key_id=1, actor="t")
        )
        wait_for_lock_waiters()  # the revocation waits for the intent
        assert out == []
    thread.join(30)

    [revoked] = out
    assert getattr(revoked, "status", None) == "revoked", revoked
    with pytest.raises(errors.PaymentAgentKeyNotFoundError):
        _submit(payer, 2)
    assert PaymentIntent.objects.filter(tenant_id=payer.persona.tenant_id).count() == 1
