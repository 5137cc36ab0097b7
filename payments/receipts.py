"""Verify an x402 receipt from its JSON alone (what a payee or auditor runs offline).

The receipt carries every field of the leaf, the rs_merkle path with its directions, the leaf
index and count, and the batch root. :func:`receipt_verify` recomputes the leaf and checks the
path against ``merkle_root``; compare that root with the one in the settlement transaction's
calldata (:func:`payments.evm.decode_settlement`) to tie the receipt to the chain.
"""

from __future__ import annotations

import uuid
from typing import Any

from payments.hashing import leaf_hash
from ves.legacy_merkle import verify_inclusion


def _hex(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def receipt_leaf(receipt: dict[str, Any]) -> bytes:
    """Recompute the leaf hash from a receipt's fields."""
    return leaf_hash(
        intent_id=uuid.UUID(receipt["intent_id"]),
        sequence_number=int(receipt["sequence_number"]),
        payer=receipt["payer_address"],
        payee=receipt["payee_address"],
        amount=int(receipt["amount"]),
        asset=receipt["asset"],
        network=receipt["network"],
        chain_id=int(receipt["chain_id"]),
        nonce=int(receipt["nonce"]),
        valid_until=int(receipt["valid_until"]),
        signing_hash=_hex(receipt["signing_hash"]),
        payer_signature=_hex(receipt["payer_signature"]),
    )


def receipt_verify(receipt: dict[str, Any], *, root: bytes | None = None) -> bool:
    """Whether the receipt proves its intent is in the batch with ``root`` (default: its own root)."""
    try:
        return verify_inclusion(
            leaf_hash=receipt_leaf(receipt),
            root=root if root is not None else _hex(receipt["merkle_root"]),
            path=[_hex(p) for p in receipt["inclusion_proof"]],
            leaf_index=int(receipt["leaf_index"]),
            leaf_count=int(receipt["total_leaves"]),
        )
    except (KeyError, ValueError, TypeError):
        return False
