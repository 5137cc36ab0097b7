"""An x402 stream whose sequence numbers would pass 2^63 - 1 refuses the intent with 409
``sequence_exhausted`` and stores nothing (a counter set by hand, or a restore, gets there)."""

from __future__ import annotations

import pytest

from payments.models import NonceReservation, PaymentIntent
from streams.kinds import StreamKind
from tests.conftest import Persona, stream_head_set
from tests.payments.helpers import Payer, post_intent

pytestmark = pytest.mark.django_db

LAST = 2**63 - 1


def test_an_intent_past_the_last_sequence_number_is_refused(owner: Persona) -> None:
    payer = Payer(owner).register()
    assert post_intent(owner.client, payer.intent(nonce=1)).status_code == 200
    stream_head_set(owner, StreamKind.X402, LAST)

    refused = post_intent(owner.client, payer.intent(nonce=2))

    assert refused.status_code == 409, refused.content
    assert refused["Content-Type"].startswith("application/problem+json")
    assert (refused.json()["status"], refused.json()["code"]) == (409, "sequence_exhausted")
    assert PaymentIntent.objects.filter(tenant_id=owner.tenant_id).count() == 1
    assert not NonceReservation.objects.filter(tenant_id=owner.tenant_id, nonce=2).exists()
    stream_head_set(owner, StreamKind.X402, LAST - 1)  # the last number is still given
    last = post_intent(owner.client, payer.intent(nonce=2))
    assert last.status_code == 200, last.content
    assert last.json()["sequence_number"] == LAST
