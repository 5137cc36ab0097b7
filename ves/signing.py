"""Ed25519 over the 32-byte VES hashes (pure RFC 8032 Ed25519, not Ed25519ph).

Agents sign the event signing hash; the sequencer signs receipt hashes. Keys are the 32-byte
RFC 8032 seed (private) and the 32-byte compressed point (public).

Signing and verification run on libsodium (PyNaCl, ADR 0026): its verification costs ~39 µs
against OpenSSL's ~63 µs, a third of the web CPU of a signed event, and it refuses what
OpenSSL's accepts and no honest signer produces: a public key of small order, which verifies a
forged signature of *any* message (``R`` the identity, ``S = 0``), and non-canonical encodings.
Signatures are deterministic, so both libraries sign byte for byte alike.
"""

from __future__ import annotations

import functools

from nacl.bindings import crypto_core_ed25519_is_valid_point
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

__all__ = ["is_usable_public_key", "public_key_from_seed", "sign", "verify"]


def public_key_from_seed(seed: bytes) -> bytes:
    """The 32-byte public key of a 32-byte Ed25519 seed."""
    return bytes(_signing_key(seed).verify_key)


def sign(seed: bytes, message_hash: bytes) -> bytes:
    """Deterministic 64-byte Ed25519 signature of ``message_hash`` (32 bytes) under ``seed``."""
    if len(message_hash) != 32:
        raise ValueError("VES signs 32-byte hashes")
    return _signing_key(seed).sign(message_hash).signature


@functools.lru_cache(maxsize=16)
def _signing_key(seed: bytes) -> SigningKey:
    """The key of a seed, kept: deriving it costs about as much as a signature, and a sequencer
    signs every receipt with the same seed. A seed that is not 32 bytes raises ``ValueError``."""
    return SigningKey(bytes(seed))


def verify(public_key: bytes, message_hash: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 signature of ``message_hash`` under ``public_key``.

    Malformed keys or signatures (wrong length, not a canonical curve point, a point of small
    order, a non-canonical ``S``) are simply invalid.
    """
    if len(public_key) != 32 or len(signature) != 64:
        return False
    try:
        VerifyKey(bytes(public_key)).verify(message_hash, signature)
    except (BadSignatureError, ValueError):
        return False
    return True


def is_usable_public_key(public_key: bytes) -> bool:
    """Whether ``public_key`` is the canonical encoding of a point of the prime-order subgroup,
    as every key an honest signer derives is; a small-order key verifies forged signatures."""
    return len(public_key) == 32 and bool(crypto_core_ed25519_is_valid_point(bytes(public_key)))
