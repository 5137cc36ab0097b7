"""Ed25519 over the 32-byte VES hashes (pure RFC 8032 Ed25519, not Ed25519ph).

Agents sign the event signing hash; the sequencer signs receipt hashes. Keys are the 32-byte
RFC 8032 seed (private) and the 32-byte compressed point (public).

Two backends give the same answers, chosen once, at import (ADR 0026):

* libsodium through PyNaCl (``ves.ed25519_sodium``) when ``nacl`` imports, as on the server,
  which always installs it: its verification costs ~39 µs against OpenSSL's ~63 µs, a third of
  the web CPU of a signed event;
* otherwise OpenSSL through ``cryptography`` (``ves.ed25519_openssl``), so that ``stateset-ves``
  needs no PyNaCl. OpenSSL alone would accept what libsodium refuses and no honest signer
  produces: a public key of small order, which verifies a forged signature of *any* message
  (``R`` the identity, ``S = 0``), and non-canonical encodings; that backend refuses them first,
  in Python, as libsodium does.

Signatures are deterministic, so both sign byte for byte alike; tests/ves/test_ed25519_backends.py
holds them to the same signatures, the same verdicts and the same usable keys.
"""

from __future__ import annotations

import importlib
from typing import Final, Protocol

__all__ = ["BACKEND", "Ed25519Backend", "is_usable_public_key", "public_key_from_seed", "sign", "verify"]


class Ed25519Backend(Protocol):
    """What a backend module provides: plain Ed25519 over messages of any length."""

    def public_key_from_seed(self, seed: bytes) -> bytes: ...

    def sign(self, seed: bytes, message: bytes) -> bytes: ...

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool: ...

    def is_usable_public_key(self, public_key: bytes) -> bool: ...


def _chosen_backend() -> Ed25519Backend:
    """libsodium when PyNaCl imports, else OpenSSL. Only ``import nacl`` is tried: an error
    inside a backend module is a bug to surface, not a reason to fall back."""
    try:
        importlib.import_module("nacl")
    except ImportError:
        from ves import ed25519_openssl

        return ed25519_openssl
    from ves import ed25519_sodium

    return ed25519_sodium


BACKEND: Final[Ed25519Backend] = _chosen_backend()
"""The backend module in use: ``ves.ed25519_sodium`` or ``ves.ed25519_openssl``."""


def public_key_from_seed(seed: bytes) -> bytes:
    """The 32-byte public key of a 32-byte Ed25519 seed (``ValueError`` for another length)."""
    return BACKEND.public_key_from_seed(seed)


def sign(seed: bytes, message_hash: bytes) -> bytes:
    """Deterministic 64-byte Ed25519 signature of ``message_hash`` (32 bytes) under ``seed``."""
    if len(message_hash) != 32:
        raise ValueError("VES signs 32-byte hashes")
    return BACKEND.sign(seed, message_hash)


def verify(public_key: bytes, message_hash: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 signature of ``message_hash`` under ``public_key``.

    Malformed keys or signatures (wrong length, not a canonical curve point, a point of small
    order, a non-canonical ``S``) are simply invalid.
    """
    return BACKEND.verify(public_key, message_hash, signature)


def is_usable_public_key(public_key: bytes) -> bool:
    """Whether ``public_key`` is the canonical encoding of a point of the prime-order subgroup,
    as every key an honest signer derives is; a small-order key verifies forged signatures."""
    return BACKEND.is_usable_public_key(public_key)
