"""x402 byte formats (REFERENCE.md §5.2, §5.3): signing hash, batch leaf, state root, networks.

Strings are hashed as raw UTF-8 with no length prefix, integers as big-endian u64, exactly like
the reference. The signing hash and network table live in :mod:`ves.x402` (pure, shared with
the SDK). Payer and payee addresses
are hashed exactly as submitted (and stored exactly as submitted). The batch tree is the
rs_merkle tree of :mod:`ves.legacy_merkle` (plain SHA-256, odd node promoted).
"""

from __future__ import annotations

import hashlib
import uuid

from ves.x402 import NETWORKS, SIGNING_TAG, signing_hash
from ves.x402 import u64 as _u64

__all__ = ["ASSETS", "NETWORKS", "SIGNING_TAG", "TOKEN_ADDRESSES", "leaf_hash", "signing_hash", "state_root"]

ASSETS = ("usdc", "usdt", "ssusd", "wssusd", "dai", "eth")

#: (asset, network) → token contract; native ETH and unknown pairs have none.
TOKEN_ADDRESSES: dict[tuple[str, str], str] = {
    ("usdc", "base"): "0x833589fcd6edb6e08f4c7c32d4f71b54bda02913",
    ("usdc", "base_sepolia"): "0x036cbd53842c5426634e7929541ec2318f3dcf7e",
    ("usdc", "ethereum"): "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",
    ("usdt", "ethereum"): "0xdac17f958d2ee523a2206206994597c13d831ec7",
    ("dai", "ethereum"): "0x6b175474e89094c44da98b954eedeac495271d0f",
}


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
