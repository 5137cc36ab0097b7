"""An x402 stream whose sequence numbers would pass 2^63 - 1 refuses the intent with 409
``sequence_exhausted`` and stores nothing (a counter set by hand, or a restore, gets there)."""

from __future__ import annotations

import pytest
from django.db import connection

from payments.models import NonceReservation, PaymentIntent
from tests.conftest import Persona
from tests.payments.helpers import Payer, post_intent

pytestmark = pytest.mark.django_db

LAST = 2**63 - 1
X402 = 3  # streams.kinds.StreamKind.X402


def _set_head(owner: Persona, head: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE sequence_counters SET current_sequence = %s"
            " WHERE tenant_id = %s AND store_id = %s AND stream_kind = %s",
            [head, owner.tenant_id, owner.store_id, X402],
        )
        assert cursor.rowcount == 1


def test_an_intent_past_the_last_sequence_number_is_refused(owner: Persona) -> None:
    payer = Payer(owner).register()
    assert post_intent(owner.client, payer.intent(nonce=1)).status_code == 200
    _set_head(owner, LAST)

    refused = post_intent(owner.client, payer.intent(nonce=2))

    assert refused.status_code == 409, refused.content
    assert refused["Content-Type"].startswith("application/problem+json")
    assert (refused.json()["status"], refused.json()["code"]) == (409, "sequence_exhausted")
    assert PaymentIntent.objects.filter(tenant_id=owner.tenant_id).count() == 1
    assert not NonceReservation.objects.filter(tenant_id=owner.tenant_id, nonce=2).exists()
    _set_head(owner, LAST - 1)  # the last number is still given
    last = post_intent(owner.client, payer.intent(nonce=2))
    assert last.status_code == 200, last.content
    assert last.json()["sequence_number"] == LAST
