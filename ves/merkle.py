"""The VES commitment tree: leaves, padded binary Merkle tree, inclusion proofs, state roots.

Byte layouts are in ``docs/proofs.md`` (restating VES.md §5-6 of the design notes). In short::

    leaf       = H("VES_LEAF_V1" || UUID(tenant) || UUID(store) || U64(seq) || event_signing_hash || agent_signature)
    pad leaf   = H("VES_PAD_LEAF_V1")
    node       = H("VES_NODE_V1" || left || right)
    state root = H("VES_STATE_ROOT_V1" || stream_id || prev_state_root || merkle_root
                   || U64(sequence_start) || U64(sequence_end) || U32(leaf_count))

The leaves of a commitment are padded with the pad leaf up to the next power of two. One leaf is
its own root (not hashed again); an empty list has the all-zero root.

Two inclusion verifiers exist on purpose. :func:`verify_inclusion_reference` reproduces the Rust
reference's ``POST /api/v1/ves/proofs/verify`` exactly, including its leniency (it ignores client
directions and index bits above the path length). :func:`verify_inclusion_strict` is what a careful
client should run: it binds the path length to the tree depth and the index to the tree.
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
    "MAX_PROOF_ELEMENTS",
    "NODE_TAG",
    "PAD_LEAF",
    "STATE_ROOT_TAG",
    "InclusionProof",
    "MerkleProofError",
    "MerkleTree",
    "build_tree",
    "directions_for_index",
    "leaf_hash",
    "merkle_root",
    "node_hash",
    "padded_leaf_count",
    "state_root",
    "tree_depth",
    "verify_inclusion_reference",
    "verify_inclusion_strict",
]

LEAF_TAG = b"VES_LEAF_V1"
NODE_TAG = b"VES_NODE_V1"
STATE_ROOT_TAG = b"VES_STATE_ROOT_V1"
PAD_LEAF = hashlib.sha256(b"VES_PAD_LEAF_V1").digest()
EMPTY_ROOT = bytes(32)
#: The reference's verify endpoint refuses longer paths before decoding them.
MAX_PROOF_ELEMENTS = 64

_SIGNATURE_LEN = 64
_U32_MAX = 2**32 - 1
_U64_MAX = 2**64 - 1
_sha256 = hashlib.sha256


class MerkleProofError(ValueError):
    """A proof or tree input is malformed (wrong lengths, out-of-range numbers).

    A *well-formed* proof that does not lead to the root is not an error: the verifiers return
    ``False`` for it. The API maps this exception to HTTP 400, like the reference does.
    """


def _u32(value: int) -> bytes:
    if not 0 <= value <= _U32_MAX:
        raise MerkleProofError(f"{value} does not fit in an unsigned 32-bit integer")
    return value.to_bytes(4, "big")


def _u64(value: int) -> bytes:
    if not 0 <= value <= _U64_MAX:
        raise MerkleProofError(f"{value} does not fit in an unsigned 64-bit integer")
    return value.to_bytes(8, "big")


_check_hash = hash_check(MerkleProofError)


def leaf_hash(
    *,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    sequence_number: int,
    event_signing_hash: bytes,
    agent_signature: bytes,
) -> bytes:
    """The Merkle leaf of one sequenced VES event (147-byte preimage)."""
    _check_hash(event_signing_hash, "event_signing_hash")
    if len(agent_signature) != _SIGNATURE_LEN:
        raise MerkleProofError(f"agent_signature must be {_SIGNATURE_LEN} bytes, got {len(agent_signature)}")
    return _sha256(
        LEAF_TAG + tenant_id.bytes + store_id.bytes + _u64(sequence_number) + event_signing_hash + agent_signature
    ).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """An inner node: ``H("VES_NODE_V1" || left || right)``."""
    return _sha256(NODE_TAG + left + right).digest()


def padded_leaf_count(leaf_count: int) -> int:
    """The next power of two at or above ``leaf_count`` (1 for 0 and 1, like Rust's ``next_power_of_two``)."""
    if leaf_count < 0:
        raise MerkleProofError("leaf_count must not be negative")
    return 1 << max(leaf_count - 1, 0).bit_length()


def tree_depth(leaf_count: int) -> int:
    """``log2(padded_leaf_count)``: the number of siblings in every proof (0 for one leaf)."""
    return padded_leaf_count(leaf_count).bit_length() - 1


def directions_for_index(leaf_index: int, depth: int) -> tuple[bool, ...]:
    """One flag per level, bottom-up: ``True`` when the running node is the LEFT child (bit is 0)."""
    return tuple(not (leaf_index >> level) & 1 for level in range(depth))


# PAD_NODES[k] is the root of a perfect subtree of 2**k pad leaves: whole pad subtrees are never
# hashed while building, which saves up to half of the work for a count just above a power of two.
_PAD_NODES: list[bytes] = [PAD_LEAF]
for _ in range(64):
    _PAD_NODES.append(node_hash(_PAD_NODES[-1], _PAD_NODES[-1]))


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """An inclusion proof as the VES proof endpoint returns it.

    ``path`` holds the sibling hashes bottom-up, exactly ``tree_depth`` of them; pad leaves and
    pad-derived nodes appear as ordinary siblings. ``directions[d]`` is ``True`` when the running
    node is the left child at level ``d`` (bit ``d`` of ``leaf_index`` is 0).
    """

    leaf_index: int
    leaf_hash: bytes
    path: tuple[bytes, ...]
    directions: tuple[bool, ...]


@dataclass(frozen=True, slots=True)
class MerkleTree:
    """A built VES tree.

    ``levels[0]`` holds the real leaves and ``levels[k]`` the nodes at height ``k`` that cover at
    least one real leaf; every position beyond a level's end is the pad node of that height.
    """

    levels: tuple[Sequence[bytes], ...]  # tuples as built; PackedHashes when kept
    leaf_count: int

    @property
    def tree_depth(self) -> int:
        """Height of the padded tree (0 for zero or one leaf)."""
        return tree_depth(self.leaf_count)

    @property
    def padded_leaf_count(self) -> int:
        """Leaf count after padding to a power of two."""
        return padded_leaf_count(self.leaf_count)

    @property
    def root(self) -> bytes:
        """The merkle root: zeros for no leaves, the leaf itself for one."""
        if self.leaf_count == 0:
            return EMPTY_ROOT
        return self.levels[-1][0]

    def proof(self, leaf_index: int) -> InclusionProof:
        """The inclusion proof of the leaf at ``leaf_index`` (``sequence_number - sequence_start``)."""
        if not 0 <= leaf_index < self.leaf_count:
            raise MerkleProofError(f"leaf_index {leaf_index} is outside 0..{self.leaf_count - 1}")
        depth = self.tree_depth
        path: list[bytes] = []
        position = leaf_index
        for height in range(depth):
            level = self.levels[height]
            sibling = position ^ 1
            path.append(level[sibling] if sibling < len(level) else _PAD_NODES[height])
            position >>= 1
        return InclusionProof(
            leaf_index=leaf_index,
            leaf_hash=self.levels[0][leaf_index],
            path=tuple(path),
            directions=directions_for_index(leaf_index, depth),
        )


def build_tree(leaves: Sequence[bytes]) -> MerkleTree:
    """Build the padded tree over ``leaves`` (leaf hashes, in sequence order)."""
    level = tuple(leaves)
    for leaf in level:
        _check_hash(leaf, "leaf hash")
    levels = [level]
    height = 0
    sha256 = _sha256
    tag = NODE_TAG
    while len(level) > 1:
        if len(level) % 2:
            level = (*level, _PAD_NODES[height])
        level = tuple(
            [sha256(tag + left + right).digest() for left, right in zip(level[0::2], level[1::2], strict=True)]
        )
        levels.append(level)
        height += 1
    # Level h has ceil(n / 2**h) nodes, which reaches 1 exactly at h = tree_depth(n).
    return MerkleTree(levels=tuple(levels), leaf_count=len(leaves))


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """The merkle root of ``leaves`` (zeros when empty, the leaf when single)."""
    return build_tree(leaves).root


def _fold(leaf: bytes, path: Sequence[bytes], leaf_index: int) -> bytes:
    current = leaf
    for height, sibling in enumerate(path):
        if (leaf_index >> height) & 1:
            current = _sha256(NODE_TAG + sibling + current).digest()
        else:
            current = _sha256(NODE_TAG + current + sibling).digest()
    return current


_check_path = proof_check(MerkleProofError, max_elements=MAX_PROOF_ELEMENTS)


def verify_inclusion_reference(
    *, leaf_hash: bytes, merkle_root: bytes, proof_path: Sequence[bytes], leaf_index: int
) -> bool:
    """Verify exactly as the reference's ``POST /api/v1/ves/proofs/verify`` does.

    Directions are recomputed from ``leaf_index`` (the caller has no way to pass its own), the path
    length is not checked against anything, and index bits above the path length are ignored, so
    the proof of index 1 in an 8-leaf tree also verifies as index 9. More than
    :data:`MAX_PROOF_ELEMENTS` elements, an element or hash that is not 32 bytes, or an index that is
    not a u64 raise :class:`MerkleProofError`; a well-formed wrong proof returns ``False``.
    """
    _check_path(proof_path)
    _check_hash(leaf_hash, "leaf_hash")
    _check_hash(merkle_root, "merkle_root")
    _u64(leaf_index)
    return _fold(leaf_hash, proof_path, leaf_index) == merkle_root


def verify_inclusion_strict(
    *,
    leaf_hash: bytes,
    merkle_root: bytes,
    proof_path: Sequence[bytes],
    leaf_index: int,
    tree_depth: int,
    leaf_count: int | None = None,
    directions: Sequence[bool] | None = None,
) -> bool:
    """Verify a proof bound to a tree shape: what a client that trusts nothing should run.

    Besides the hash chain, this requires ``len(proof_path) == tree_depth`` and
    ``leaf_index < 2**tree_depth``; with ``leaf_count`` it also requires
    ``tree_depth == tree_depth(leaf_count)`` and ``leaf_index < leaf_count`` (so a pad position
    cannot be claimed), and with ``directions`` it requires them to equal the index bits. Any
    mismatch returns ``False``; malformed input raises :class:`MerkleProofError`.
    """
    _check_path(proof_path)
    _check_hash(leaf_hash, "leaf_hash")
    _check_hash(merkle_root, "merkle_root")
    _u64(leaf_index)
    if not 0 <= tree_depth <= MAX_PROOF_ELEMENTS or len(proof_path) != tree_depth:
        return False
    if leaf_index >> tree_depth:
        return False
    if leaf_count is not None and (
        leaf_count < 1 or leaf_index >= leaf_count or padded_leaf_count(leaf_count) != 1 << tree_depth
    ):
        return False
    if directions is not None and tuple(directions) != directions_for_index(leaf_index, tree_depth):
        return False
    return _fold(leaf_hash, proof_path, leaf_index) == merkle_root


def state_root(
    *,
    stream_id: bytes,
    prev_state_root: bytes,
    merkle_root: bytes,
    sequence_start: int,
    sequence_end: int,
    leaf_count: int,
) -> bytes:
    """A commitment's ``new_state_root`` (133-byte preimage).

    ``stream_id`` is ``H("VES_STREAM_V1" || UUID(tenant) || UUID(store))``; ``prev_state_root`` is
    the previous commitment's ``new_state_root``, or 32 zero bytes for the stream's first one.
    """
    _check_hash(stream_id, "stream_id")
    _check_hash(prev_state_root, "prev_state_root")
    _check_hash(merkle_root, "merkle_root")
    return _sha256(
        STATE_ROOT_TAG
        + stream_id
        + prev_state_root
        + merkle_root
        + _u64(sequence_start)
        + _u64(sequence_end)
        + _u32(leaf_count)
    ).digest()
