"""Commitment leaves from packed records: the bulk form of ``ves.merkle.leaf_hash`` and
``ves.legacy_merkle.leaf_hash`` (``docs/proofs.md`` §1 and §2).

Both leaf preimages are ``TAG ‖ UUID(tenant) ‖ UUID(store) ‖ <per-event tail>``, and the tail
starts with ``U64(sequence_number)``. The server has PostgreSQL pack the tails of a whole range
into one bytea (``commitments/sql/select_*_leaf_records.sql``), so 10,000 events cross the wire as
one value and are hashed here in one tight ``hashlib`` loop with the stream prefix built once:

* VES record (104 bytes): ``U64(seq) ‖ event_signing_hash (32) ‖ agent_signature (64)``;
* legacy record: ``U32(len(tail)) ‖ tail``, tail = ``U64(seq) ‖ payload_hash (32) ‖ STR(entity_type)
  ‖ STR(entity_id)``.

Records must be in sequence order from ``first`` with no gap; hashing stops at the first record
whose sequence number is not the next one, so a caller comparing the count sees missing events.
"""

from __future__ import annotations

import hashlib
import uuid

from ves import legacy_merkle
from ves import merkle as ves_merkle

__all__ = ["VES_RECORD_LEN", "legacy_leaves", "ves_leaves"]

VES_RECORD_LEN = 8 + 32 + 64


def ves_leaves(*, tenant_id: uuid.UUID, store_id: uuid.UUID, first: int, packed: bytes) -> list[bytes]:
    """``VES_LEAF_V1`` leaves of packed 104-byte VES records, equal to ``ves.merkle.leaf_hash``."""
    if len(packed) % VES_RECORD_LEN:
        raise ValueError(f"packed VES records are {VES_RECORD_LEN} bytes each, got {len(packed)} bytes")
    prefix = ves_merkle.LEAF_TAG + tenant_id.bytes + store_id.bytes
    sha256 = hashlib.sha256
    leaves: list[bytes] = []
    expected = first
    for pos in range(0, len(packed), VES_RECORD_LEN):
        record = packed[pos : pos + VES_RECORD_LEN]
        if int.from_bytes(record[:8], "big") != expected:
            break
        leaves.append(sha256(prefix + record).digest())
        expected += 1
    return leaves


def legacy_leaves(*, tenant_id: uuid.UUID, store_id: uuid.UUID, first: int, packed: bytes) -> list[bytes]:
    """``STATESET_COMMITMENT_LEAF_V1`` leaves of packed legacy records, equal to
    ``ves.legacy_merkle.leaf_hash``."""
    prefix = legacy_merkle.LEAF_TAG + tenant_id.bytes + store_id.bytes
    sha256 = hashlib.sha256
    leaves: list[bytes] = []
    expected, pos, end = first, 0, len(packed)
    while pos < end:
        length = int.from_bytes(packed[pos : pos + 4], "big")
        tail = packed[pos + 4 : pos + 4 + length]
        if len(tail) != length or length < 8 or int.from_bytes(tail[:8], "big") != expected:
            break
        leaves.append(sha256(prefix + tail).digest())
        expected += 1
        pos += 4 + length
    return leaves
