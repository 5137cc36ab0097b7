"""Concurrent submissions on one stream: gap-free numbers, each nonce used exactly once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from payments import errors
from payments.intent_requests import parse_payment_request
from payments.models import PaymentIntent
from payments.services.intents import payment_intent_submit
from tests.conftest import Persona
from tests.payments.helpers import Payer

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_racing_submissions_stay_gap_free_and_nonces_unique(owner: Persona) -> None:
    payer = Payer(owner).register()
    # 4 threads, each submitting nonces 0..11: every nonce is raced by all four threads.
    requests = [parse_payment_request(payer.intent(nonce=n)) for n in range(12)]
    outcomes: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            for request in requests:
                try:
                    payment_intent_submit(request=request, actor="test")
                    result = "ok"
                except errors.NonceAlreadyUsedError:
                    result = "replay"
                with lock:
                    outcomes.append(result)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 12
    assert outcomes.count("replay") == 36
    numbers = sorted(
        int(n or 0)
        for n in PaymentIntent.objects.filter(tenant_id=owner.tenant_id).values_list("sequence_number", flat=True)
    )
    assert numbers == list(range(1, 13))
    nonces = sorted(PaymentIntent.objects.filter(tenant_id=owner.tenant_id).values_list("nonce", flat=True))
    assert nonces == list(range(12))
