"""x402 byte formats (REFERENCE.md §5.2, §5.3): signing hash, batch leaf, state root, networks.

Strings are hashed as raw UTF-8 with no length prefix, integers as big-endian u64, exactly like
the reference, so a client that signs for the reference signs for us. Payer and payee addresses
are hashed exactly as submitted (and stored exactly as submitted). The batch tree is the
rs_merkle tree of :mod:`ves.legacy_merkle` (plain SHA-256, odd node promoted).
"""

from __future__ import annotations

import hashlib
import uuid

SIGNING_TAG = b"X402_PAYMENT_V1"

#: network name → chain id (the reference's static table).
NETWORKS: dict[str, int] = {
    "set_chain": 84532001,
    "set_chain_testnet": 84532002,
    "arc": 5042001,
    "arc_testnet": 5042002,
    "base": 8453,
    "base_sepolia": 84532,
    "ethereum": 1,
    "ethereum_sepolia": 11155111,
    "arbitrum": 42161,
    "optimism": 10,
}

ASSETS = ("usdc", "usdt", "ssusd", "wssusd", "dai", "eth")

#: (asset, network) → token contract; native ETH and unknown pairs have none.
TOKEN_ADDRESSES: dict[tuple[str, str], str] = {
    ("usdc", "base"): "0x833589fcd6edb6e08f4c7c32d4f71b54bda02913",
    ("usdc", "base_sepolia"): "0x036cbd53842c5426634e7929541ec2318f3dcf7e",
    ("usdc", "ethereum"): "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",
    ("usdt", "ethereum"): "0xdac17f958d2ee523a2206206994597c13d831ec7",
    ("dai", "ethereum"): "0x6b175474e89094c44da98b954eedeac495271d0f",
}


def _u64(value: int) -> bytes:
    return value.to_bytes(8, "big")


def signing_hash(
    *, payer: str, payee: str, amount: int, asset: str, network: str, valid_until: int, nonce: int
) -> bytes:
    """``SHA256("X402_PAYMENT_V1" || payer || payee || BE64(amount) || asset || network ||
    BE64(chain_id) || BE64(valid_until) || BE64(nonce))``; ``asset`` is lower-cased."""
    return hashlib.sha256(
        SIGNING_TAG
        + payer.encode()
        + payee.encode()
        + _u64(amount)
        + asset.lower().encode()
        + network.encode()
        + _u64(NETWORKS[network])
        + _u64(valid_until)
        + _u64(nonce)
    ).digest()


def leaf_hash(
    *,
    intent_id: uuid.UUID,
    sequence_number: int,
    payer: str,
    payee: str,
    amount: int,
    asset: str,
    network: str,
    chain_id: int,
    nonce: int,
    valid_until: int,
    signing_hash: bytes,
    payer_signature: bytes,
) -> bytes:
    """The batch leaf of one intent (REFERENCE.md §5.3)."""
    return hashlib.sha256(
        intent_id.bytes
        + _u64(sequence_number)
        + payer.encode()
        + payee.encode()
        + _u64(amount)
        + asset.lower().encode()
        + network.encode()
        + _u64(chain_id)
        + _u64(nonce)
        + _u64(valid_until)
        + signing_hash
        + payer_signature
    ).digest()


def state_root(*, tenant_id: uuid.UUID, store_id: uuid.UUID, batch_id: uuid.UUID, merkle_root: bytes) -> bytes:
    """``SHA256(UUID t || UUID s || UUID batch || merkle_root)`` (no chaining, as the reference)."""
    return hashlib.sha256(tenant_id.bytes + store_id.bytes + batch_id.bytes + merkle_root).digest()
