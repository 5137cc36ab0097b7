"""x402 payment intent signing hash (REFERENCE.md §5.2), pure: shared by the server and the SDK.

Strings are hashed as raw UTF-8 with no length prefix, integers as big-endian u64, exactly like
the reference, so a client that signs for the reference signs for us.
"""

from __future__ import annotations

import hashlib

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


#: Other spellings of an asset the reference's parser accepts, and the canonical name each means:
#: the name signed, hashed and stored (an ``ss_usd`` intent is signed as ``ssusd``).
ASSET_ALIASES: dict[str, str] = {"ss_usd": "ssusd", "wss_usd": "wssusd"}


def u64(value: int) -> bytes:
    return value.to_bytes(8, "big")


def signing_hash(
    *, payer: str, payee: str, amount: int, asset: str, network: str, valid_until: int, nonce: int
) -> bytes:
    """``SHA256("X402_PAYMENT_V1" || payer || payee || BE64(amount) || asset || network ||
    BE64(chain_id) || BE64(valid_until) || BE64(nonce))``; ``asset`` is lower-cased and an alias
    stands for its canonical name (:data:`ASSET_ALIASES`), as the reference hashes its parsed asset."""
    asset = asset.lower()
    asset = ASSET_ALIASES.get(asset, asset)
    return hashlib.sha256(
        SIGNING_TAG
        + payer.encode()
        + payee.encode()
        + u64(amount)
        + asset.encode()
        + network.encode()
        + u64(NETWORKS[network])
        + u64(valid_until)
        + u64(nonce)
    ).digest()
