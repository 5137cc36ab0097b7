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

from ves.x402 import ASSET_ALIASES, NETWORKS, SIGNING_TAG, signing_hash
from ves.x402 import u64 as _u64

__all__ = [
    "ASSETS",
    "ASSET_ALIASES",
    "NETWORKS",
    "SIGNING_TAG",
    "TOKEN_ADDRESSES",
    "canonical_asset",
    "leaf_hash",
    "signing_hash",
    "state_root",
]

#: Canonical asset names: what is stored, hashed and answered (the reference's serde names).
ASSETS = ("usdc", "usdt", "ssusd", "wssusd", "dai", "eth")


def canonical_asset(raw: object) -> str | None:
    """The canonical name of an asset (any case, aliases accepted), ``None`` when unknown."""
    if not isinstance(raw, str):
        return None
    name = raw.lower()
    name = ASSET_ALIASES.get(name, name)
    return name if name in ASSETS else None


#: (asset, network) → token contract, in the reference's (EIP-55) spelling; native ETH and
#: pairs the reference does not know have none. Two deliberate differences: the reference's DAI
#: address is truncated (19 bytes), ours is the real contract; USDC on Base Sepolia is an extra.
TOKEN_ADDRESSES: dict[tuple[str, str], str] = {
    ("usdc", "set_chain"): "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
    ("ssusd", "set_chain"): "0x0000000000000000000000000000000000001001",
    ("usdc", "arc"): "0x3600000000000000000000000000000000000000",
    ("usdc", "arc_testnet"): "0x3600000000000000000000000000000000000000",
    ("usdc", "base"): "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
    ("usdc", "base_sepolia"): "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
    ("usdc", "ethereum"): "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
    ("usdt", "ethereum"): "0xdAC17F958D2ee523a2206206994597C13D831ec7",
    ("dai", "ethereum"): "0x6B175474E89094C44Da98b954EedeAC495271d0F",
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
