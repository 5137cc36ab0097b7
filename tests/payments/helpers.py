"""Signed x402 intents for tests: a payer agent with a registered Ed25519 key."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson
from rest_framework.test import APIClient

from payments.hashing import signing_hash
from payments.models import PaymentBatch
from payments.services.batches import BatchKey, batch_assemble
from tests.conftest import Persona
from tests.events.ves_helpers import register_key
from tests.sequencer_project.broker_helpers import take_task_messages
from ves.signing import public_key_from_seed, sign

PAYEE = "0x" + "ab" * 20


@dataclass
class Payer:
    persona: Persona
    agent_id: uuid.UUID = field(default_factory=uuid.uuid4)
    seed: bytes = field(default_factory=lambda: os.urandom(32))
    address: str = field(default_factory=lambda: "0x" + os.urandom(20).hex())

    @property
    def public_key(self) -> bytes:
        return public_key_from_seed(self.seed)

    def register(self) -> Payer:
        response = register_key(self.persona.client, self.persona.tenant_id, self.agent_id, 1, self.public_key)
        assert response.status_code in (200, 201), response.content
        return self

    def intent(self, *, nonce: int, amount: int = 1000, network: str = "set_chain", **overrides: Any) -> dict[str, Any]:
        valid_until = overrides.pop("valid_until", int(time.time()) + 3600)
        asset = overrides.pop("asset", "usdc")
        payee = overrides.pop("payee_address", PAYEE)
        digest = signing_hash(
            payer=self.address,
            payee=payee,
            amount=amount,
            asset=asset,
            network=network,
            valid_until=valid_until,
            nonce=nonce,
        )
        body: dict[str, Any] = {
            "tenant_id": str(self.persona.tenant_id),
            "store_id": str(self.persona.store_id),
            "agent_id": str(self.agent_id),
            "agent_key_id": 1,
            "payer_address": self.address,
            "payee_address": payee,
            "amount": amount,
            "asset": asset,
            "network": network,
            "valid_until": valid_until,
            "nonce": nonce,
            "signing_hash": "0x" + digest.hex(),
            "payer_signature": "0x" + sign(self.seed, digest).hex(),
        }
        body.update(overrides)
        return body


def post_intent(client: APIClient, body: Any) -> Any:
    return client.post("/api/v1/x402/payments", data=orjson.dumps(body), content_type="application/json")


def take_queued_settlements(batch_ids: set[str], *, timeout: float = 10.0) -> list[tuple[str, ...]]:
    """Consume the ``payments.batch_settle`` messages for ``batch_ids`` from the real broker.

    Returns the arguments of the messages taken, ``(tenant_id, batch_id)``, in queue order.
    """
    return take_task_messages(
        "payments",
        "payments.batch_settle",
        wanted=lambda args: args[-1] in batch_ids,
        count=len(batch_ids),
        timeout=timeout,
    )


def assembled_batch(owner: Persona, count: int = 3) -> PaymentBatch:
    """``count`` intents of a new payer (amounts 100, 101, …), committed as one batch."""
    payer = Payer(owner).register()
    for nonce in range(count):
        assert post_intent(owner.client, payer.intent(nonce=nonce, amount=100 + nonce)).status_code == 200
    batch = batch_assemble(
        key=BatchKey(owner.tenant_id, owner.store_id, "set_chain"), max_size=100, max_wait=timedelta(0)
    )
    assert batch is not None
    return batch
