"""A level of a Merkle tree kept as one ``bytes`` object: 32 bytes per hash.

A tuple of 32-byte ``bytes`` objects costs ~73 bytes per hash in small allocations the process
keeps once freed; one buffer costs 32 per hash and is given back whole. Trees kept for later
proofs (``commitments.proofs``) are packed so that their cache can be bounded in bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import overload

__all__ = ["HASH_SIZE", "PackedHashes"]

HASH_SIZE = 32


class PackedHashes(Sequence[bytes]):
    """Read-only sequence of 32-byte hashes stored back to back."""

    __slots__ = ("_blob",)

    def __init__(self, hashes: Iterable[bytes]) -> None:
        blob = b"".join(hashes)
        if len(blob) % HASH_SIZE:
            raise ValueError(f"hashes must be {HASH_SIZE} bytes each")
        self._blob = blob

    @property
    def nbytes(self) -> int:
        """Bytes the hashes take."""
        return len(self._blob)

    def __len__(self) -> int:
        return len(self._blob) // HASH_SIZE

    @overload
    def __getitem__(self, index: int) -> bytes: ...

    @overload
    def __getitem__(self, index: slice) -> list[bytes]: ...

    def __getitem__(self, index: int | slice) -> bytes | list[bytes]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        count = len(self)
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError("hash index out of range")
        start = index * HASH_SIZE
        return self._blob[start : start + HASH_SIZE]
