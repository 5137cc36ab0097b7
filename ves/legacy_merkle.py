"""The reference's *legacy* (non-VES) commitment tree, the one behind ``/api/v1/commitments``.

Byte layouts are in ``docs/proofs.md`` (restating VES.md §7). In short::

    leaf = H("STATESET_COMMITMENT_LEAF_V1" || UUID(tenant) || UUID(store) || U64(seq)
             || payload_hash || STR(entity_type) || STR(entity_id))
    node = H(left || right)                      (no domain tag: rs_merkle 1.5 with SHA-256)

There is no padding: when a level has an odd number of nodes, the last one is carried up to the
next level unchanged. One leaf is its own root, no leaves give 32 zero bytes.

An inclusion proof lists the siblings that exist, bottom-up; levels where the running node had no
sibling (it was the promoted odd node) are skipped. The reference derives its ``directions`` from
the index bits regardless of the skipped levels, so its own verifier rejects some of its own
proofs (n=3 i=2, n=5 i=4, ...). This module returns directions that match the path
(:attr:`LegacyProof.directions`) and verifies correctly, either from the tree shape
(:func:`verify_inclusion`) or from the directions (:func:`verify_with_directions`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from ves.length_checks import hash_check, proof_check

__all__ = [
    "EMPTY_ROOT",
    "LEAF_TAG",
    "LegacyMerkleTree",
    "LegacyProof",
    "LegacyProofError",
    "build_tree",
    "events_root",
    "leaf_hash",
    "node_hash",
    "proof_shape",
    "verify_inclusion",
    "verify_with_directions",
]

LEAF_TAG = b"STATESET_COMMITMENT_LEAF_V1"
EMPTY_ROOT = bytes(32)

_MAX_PROOF_ELEMENTS = 64
_sha256 = hashlib.sha256


class LegacyProofError(ValueError):
    """Malformed input: wrong hash lengths, an index outside the tree, a too-long path."""


def _str(value: str) -> bytes:
    data = value.encode("utf-8")
    if len(data) > 2**32 - 1:
        raise LegacyProofError("string too long for a U32 length prefix")
    return len(data).to_bytes(4, "big") + data


_check_hash = hash_check(LegacyProofError)
_check_path = proof_check(LegacyProofError, max_elements=_MAX_PROOF_ELEMENTS)


def leaf_hash(
    *,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    sequence_number: int,
    payload_hash: bytes,
    entity_type: str,
    entity_id: str,
) -> bytes:
    """The legacy leaf of one event; ``payload_hash`` is :func:`ves.legacy_json.payload_hash`."""
    _check_hash(payload_hash, "payload_hash")
    if not 0 <= sequence_number < 2**64:
        raise LegacyProofError("sequence_number must fit in an unsigned 64-bit integer")
    return _sha256(
        LEAF_TAG
        + tenant_id.bytes
        + store_id.bytes
        + sequence_number.to_bytes(8, "big")
        + payload_hash
        + _str(entity_type)
        + _str(entity_id)
    ).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """An inner node: plain ``H(left || right)``."""
    return _sha256(left + right).digest()


@dataclass(frozen=True, slots=True)
class LegacyProof:
    """An inclusion proof: the existing siblings bottom-up, and for each one whether the running
    node is the LEFT child (``True``: combine as ``H(node || sibling)``)."""

    leaf_index: int
    leaf_count: int
    leaf_hash: bytes
    path: tuple[bytes, ...]
    directions: tuple[bool, ...]


def proof_shape(leaf_index: int, leaf_count: int) -> tuple[bool, ...]:
    """The correct directions of the proof of ``leaf_index`` in a tree of ``leaf_count`` leaves.

    One flag per *existing* sibling, bottom-up. Its length is the proof length, which can be shorter
    than ``ceil(log2(leaf_count))`` because promoted levels have no sibling.
    """
    if not 0 <= leaf_index < leaf_count:
        raise LegacyProofError(f"leaf_index {leaf_index} is outside 0..{leaf_count - 1}")
    directions: list[bool] = []
    position, width = leaf_index, leaf_count
    while width > 1:
        if position ^ 1 < width:
            directions.append(not position & 1)
        position >>= 1
        width = (width + 1) >> 1
    return tuple(directions)


@dataclass(frozen=True, slots=True)
class LegacyMerkleTree:
    """A built legacy tree: ``levels[0]`` the leaves, ``levels[-1]`` the root level."""

    levels: tuple[Sequence[bytes], ...]  # tuples as built; PackedHashes when kept

    @property
    def leaf_count(self) -> int:
        """Number of leaves."""
        return len(self.levels[0])

    @property
    def root(self) -> bytes:
        """The ``events_root``: zeros for no leaves, the leaf itself for one."""
        if not self.levels[0]:
            return EMPTY_ROOT
        return self.levels[-1][0]

    def proof(self, leaf_index: int) -> LegacyProof:
        """The proof of one leaf, with the same path as the reference and correct directions."""
        directions = proof_shape(leaf_index, self.leaf_count)
        path: list[bytes] = []
        position = leaf_index
        for level in self.levels[:-1]:
            sibling = position ^ 1
            if sibling < len(level):
                path.append(level[sibling])
            position >>= 1
        return LegacyProof(
            leaf_index=leaf_index,
            leaf_count=self.leaf_count,
            leaf_hash=self.levels[0][leaf_index],
            path=tuple(path),
            directions=directions,
        )


def build_tree(leaves: Sequence[bytes]) -> LegacyMerkleTree:
    """Build the tree over ``leaves`` in sequence order, promoting odd last nodes."""
    level = tuple(leaves)
    for leaf in level:
        _check_hash(leaf, "leaf hash")
    levels = [level]
    sha256 = _sha256
    while len(level) > 1:
        paired = [sha256(left + right).digest() for left, right in zip(level[0::2], level[1::2], strict=False)]
        if len(level) % 2:
            paired.append(level[-1])
        level = tuple(paired)
        levels.append(level)
    return LegacyMerkleTree(levels=tuple(levels))


def events_root(leaves: Sequence[bytes]) -> bytes:
    """The legacy ``events_root`` of ``leaves``."""
    return build_tree(leaves).root


def _check_proof_input(leaf_hash: bytes, root: bytes, path: Sequence[bytes]) -> None:
    _check_path(path)
    _check_hash(leaf_hash, "leaf_hash")
    _check_hash(root, "root")


def verify_inclusion(*, leaf_hash: bytes, root: bytes, path: Sequence[bytes], leaf_index: int, leaf_count: int) -> bool:
    """Verify a proof against the tree shape: the index and the leaf count decide which levels
    have a sibling and on which side, and the path must be consumed exactly."""
    _check_proof_input(leaf_hash, root, path)
    if not 0 <= leaf_index < leaf_count:
        return False
    directions = proof_shape(leaf_index, leaf_count)
    if len(directions) != len(path):
        return False
    return _fold(leaf_hash, path, directions) == root


def verify_with_directions(*, leaf_hash: bytes, root: bytes, path: Sequence[bytes], directions: Sequence[bool]) -> bool:
    """Verify a proof from its per-element directions (``True`` = the running node is on the left).

    This is what a client holding only an API response can run. It proves the leaf is in the tree,
    but not at which index; use :func:`verify_inclusion` to bind the position.
    """
    _check_proof_input(leaf_hash, root, path)
    if len(directions) != len(path):
        return False
    return _fold(leaf_hash, path, directions) == root


def _fold(leaf: bytes, path: Sequence[bytes], directions: Sequence[bool]) -> bytes:
    current = leaf
    for sibling, is_left in zip(path, directions, strict=True):
        current = _sha256(current + sibling).digest() if is_left else _sha256(sibling + current).digest()
    return current
