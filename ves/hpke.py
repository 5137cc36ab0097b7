"""RFC 9180 HPKE, base mode, one suite: DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM.

Only what VES-ENC-1 uses (VES.md §8.3): single-shot seal/open of one message (sequence 0, so
the AEAD nonce is the base nonce). Built on ``cryptography`` primitives so the ephemeral key
can be fixed for reproducible test vectors.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ves.encoding import u16

__all__ = ["HpkeError", "derive_key_pair", "open_base", "seal_base", "x25519_public_key"]

_KEM_SUITE = b"KEM" + u16(0x0020)
_HPKE_SUITE = b"HPKE" + u16(0x0020) + u16(0x0001) + u16(0x0002)
_VERSION = b"HPKE-v1"
_NK = 32
_NN = 12


class HpkeError(ValueError):
    """Encapsulation or decryption failed (bad key, all-zero shared secret, AEAD failure)."""


def _extract(suite: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt or bytes(32), _VERSION + suite + label + ikm, hashlib.sha256).digest()


def _expand(suite: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    labeled_info = u16(length) + _VERSION + suite + label + info
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + labeled_info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def x25519_public_key(private_key: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(private_key).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def derive_key_pair(ikm: bytes) -> tuple[bytes, bytes]:
    """RFC 9180 ``DeriveKeyPair`` for X25519: ``(private, public)`` from input keying material."""
    sk = _expand(_KEM_SUITE, _extract(_KEM_SUITE, b"", b"dkp_prk", ikm), b"sk", b"", 32)
    return sk, x25519_public_key(sk)


def _dh(private_key: bytes, public_key: bytes) -> bytes:
    try:
        shared = X25519PrivateKey.from_private_bytes(private_key).exchange(
            X25519PublicKey.from_public_bytes(public_key)
        )
    except ValueError as exc:  # cryptography refuses an all-zero result
        raise HpkeError("X25519 produced no shared secret") from exc
    if shared == bytes(32):
        raise HpkeError("X25519 produced an all-zero shared secret")
    return shared


def _shared_secret(dh: bytes, enc: bytes, pk_r: bytes) -> bytes:
    prk = _extract(_KEM_SUITE, b"", b"eae_prk", dh)
    return _expand(_KEM_SUITE, prk, b"shared_secret", enc + pk_r, 32)


def _key_schedule(shared: bytes, info: bytes) -> tuple[bytes, bytes]:
    context = b"\x00" + _extract(_HPKE_SUITE, b"", b"psk_id_hash", b"") + _extract(_HPKE_SUITE, b"", b"info_hash", info)
    secret = _extract(_HPKE_SUITE, shared, b"secret", b"")
    return _expand(_HPKE_SUITE, secret, b"key", context, _NK), _expand(_HPKE_SUITE, secret, b"base_nonce", context, _NN)


def seal_base(
    recipient_public_key: bytes,
    info: bytes,
    aad: bytes,
    plaintext: bytes,
    *,
    ephemeral_private_key: bytes | None = None,
) -> tuple[bytes, bytes]:
    """Single-shot base-mode seal: ``(enc, ciphertext||tag)``. A fresh ephemeral key unless given."""
    sk_e = (
        ephemeral_private_key if ephemeral_private_key is not None else X25519PrivateKey.generate().private_bytes_raw()
    )
    enc = x25519_public_key(sk_e)
    shared = _shared_secret(_dh(sk_e, recipient_public_key), enc, recipient_public_key)
    key, nonce = _key_schedule(shared, info)
    return enc, AESGCM(key).encrypt(nonce, plaintext, aad)


def open_base(recipient_private_key: bytes, enc: bytes, info: bytes, aad: bytes, ciphertext: bytes) -> bytes:
    """Single-shot base-mode open; raises :class:`HpkeError` on any failure."""
    if len(enc) != 32:
        raise HpkeError("enc must be 32 bytes")
    pk_r = x25519_public_key(recipient_private_key)
    shared = _shared_secret(_dh(recipient_private_key, enc), enc, pk_r)
    key, nonce = _key_schedule(shared, info)
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, aad)
    except Exception as exc:  # cryptography raises InvalidTag
        raise HpkeError("HPKE open failed") from exc
