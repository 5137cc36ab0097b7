"""Operators see commitments, their signed checkpoints, and x402 intents and batches in the admin."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from payments.models import PaymentIntent
from tests.commitments.helpers import create, ingest_ves_case
from tests.conftest import Persona
from tests.payments.helpers import assembled_batch
from tests.ves.ves_case_vectors import CASES

pytestmark = pytest.mark.django_db


def test_a_commitment_page_shows_its_signed_checkpoint(staff_client: Client, admin_client: APIClient) -> None:
    case = CASES[1]
    ingest_ves_case(admin_client, case)
    batch_id = create(admin_client, "ves/", case["tenant_id"], case["store_id"], 1, len(case["events"])).json()[
        "batch_id"
    ]

    listing = staff_client.get("/admin/commitments/commitment/")
    detail = staff_client.get(f"/admin/commitments/commitment/{batch_id}/change/")

    assert listing.status_code == 200
    assert batch_id in listing.content.decode()
    assert detail.status_code == 200
    page = detail.content.decode()
    assert case["tenant_id"] in page
    # Deployed with VES_SEQUENCER_SIGNING_KEY (tests/settings.py): the signed note, line by line.
    origin = f"sequencer.local/ves/{case['tenant_id']}/{case['store_id']}"
    assert "Signed checkpoint" in page
    assert f'<div class="readonly">{origin}<br>{len(case["events"])}<br>' in page
    assert "<br><br>— sequencer.local " in page
    # Roots as the API spells them (hex), never Python's b'...' text
    answer = admin_client.get(f"/api/v1/ves/commitments/{batch_id}?tenant_id={case['tenant_id']}").json()
    for root in (answer["merkle_root"], answer["new_state_root"], answer["prev_state_root"]):
        assert f'<div class="readonly">0x{root.removeprefix("0x")}</div>' in page
    for quote in ("&#x27;", "&quot;"):  # Python's bytes repr, as a read-only field would show it
        assert f'<div class="readonly">b{quote}' not in page


def test_x402_intent_and_batch_pages_show_hashes_as_hex(staff_client: Client, owner: Persona) -> None:
    batch = assembled_batch(owner, count=2)
    intent = PaymentIntent.objects.filter(tenant_id=owner.tenant_id, batch_id=batch.batch_id).first()
    assert intent is not None

    batch_page = staff_client.get(f"/admin/payments/paymentbatch/{batch.batch_id}/change/").content.decode()
    intent_page = staff_client.get(f"/admin/payments/paymentintent/{intent.intent_id}/change/").content.decode()

    assert batch.merkle_root is not None
    assert f'<div class="readonly">0x{bytes(batch.merkle_root).hex()}</div>' in batch_page
    for value in (intent.signing_hash, intent.payer_signature, intent.request_hash):
        assert f'<div class="readonly">0x{bytes(value).hex()}</div>' in intent_page
    for page in (batch_page, intent_page):
        for quote in ("&#x27;", "&quot;"):
            assert f'<div class="readonly">b{quote}' not in page


def test_an_unsigned_checkpoint_shows_its_size_and_root(
    staff_client: Client, admin_client: APIClient, settings: Any
) -> None:
    settings.VES_SEQUENCER_SIGNING_KEY = ""  # no key: the checkpoint is stored unsigned
    case = CASES[1]
    ingest_ves_case(admin_client, case)
    batch_id = create(admin_client, "ves/", case["tenant_id"], case["store_id"], 1, len(case["events"])).json()[
        "batch_id"
    ]

    page = staff_client.get(f"/admin/commitments/commitment/{batch_id}/change/").content.decode()

    assert f"tree size {len(case['events'])}, root " in page


@pytest.mark.parametrize(
    "path", ["/admin/payments/paymentintent/", "/admin/payments/paymentbatch/", "/admin/payments/settlementattempt/"]
)
def test_x402_pages_render(staff_client: Client, path: str) -> None:
    assert staff_client.get(path).status_code == 200
