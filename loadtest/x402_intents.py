"""Signed x402 request bodies shared by the load and reliability drivers (REFERENCE.md §5.2).

The agent registers its Ed25519 key as key id 1 (:func:`agent_key_body`, for
``POST /api/v1/agents/keys``) and signs intents in USDC on ``set_chain`` with it
(:func:`signed_intent_body`, for ``POST /api/v1/x402/payments``).
"""

from __future__ import annotations

from typing import Any

from ves.signing import public_key_from_seed, sign
from ves.x402 import signing_hash

AGENT_KEY_ID = 1
ASSET = "usdc"
NETWORK = "set_chain"


def agent_key_body(*, tenant_id: str, agent_id: str, seed: bytes) -> dict[str, Any]:
    """The key registration body of the agent whose Ed25519 seed is ``seed``."""
    return {
        "tenantId": tenant_id,
        "agentId": agent_id,
        "keyId": AGENT_KEY_ID,
        "publicKey": public_key_from_seed(seed).hex(),
    }


def signed_intent_body(
    *,
    seed: bytes,
    tenant_id: str,
    store_id: str,
    agent_id: str,
    payer: str,
    payee: str,
    amount: int,
    nonce: int,
    valid_until: int,
) -> dict[str, Any]:
    """A payment intent signed with the agent key ``seed`` (its signing hash included)."""
    digest = signing_hash(
        payer=payer, payee=payee, amount=amount, asset=ASSET, network=NETWORK, valid_until=valid_until, nonce=nonce
    )
    return {
        "tenant_id": tenant_id,
        "store_id": store_id,
        "agent_id": agent_id,
        "agent_key_id": AGENT_KEY_ID,
        "payer_address": payer,
        "payee_address": payee,
        "amount": amount,
        "asset": ASSET,
        "network": NETWORK,
        "valid_until": valid_until,
        "nonce": nonce,
        "signing_hash": "0x" + digest.hex(),
        "payer_signature": "0x" + sign(seed, digest).hex(),
    }
