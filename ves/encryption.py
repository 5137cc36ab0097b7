"""VES-ENC-1 encrypted payloads (VES.md §8): structure validation, hashes, seal and open.

The server never decrypts: it validates the ``payload_encrypted`` structure and recomputes
``payload_cipher_hash`` from it and the signed envelope fields. Agents and our tools use
:func:`seal` / :func:`open_payload` (AES-256-GCM content encryption, the 32-byte DEK wrapped
per recipient with HPKE base mode, ``info`` = payload AAD, empty HPKE aad).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeGuard

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ves import hpke
from ves.hashes import (
    EventSigningFields,
    payload_aad_for,
    payload_cipher_hash,
    payload_plain_hash_salted,
    recipients_hash,
)
from ves.jcs import canonicalize
from ves.json_text import JSONDecodeError, loads

__all__ = [
    "EncryptedPayload",
    "EncryptedStructureError",
    "OpenError",
    "Recipient",
    "SealedPayload",
    "b64u_decode",
    "b64u_encode",
    "cipher_hash_for",
    "open_payload",
    "parse_encrypted",
    "seal",
]

AEAD = "AES-256-GCM"
HPKE_MODES = frozenset({"base", "hybrid-base", "pqc-base"})
HPKE_KEMS = frozenset({"X25519-HKDF-SHA256", "x25519+mlkem768", "mlkem768"})
HPKE_KDF = "HKDF-SHA256"
_B64U = re.compile(r"^[A-Za-z0-9_-]*\Z")
_U32_MAX = 2**32 - 1


class EncryptedStructureError(ValueError):
    """``payload_encrypted`` is malformed; ``field`` is its JSON path inside the structure."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class OpenError(ValueError):
    """Decryption failed: no such recipient, AEAD failure, or payload hash mismatch."""


@dataclass(frozen=True, slots=True)
class Recipient:
    kid: int
    enc: bytes
    ct: bytes


@dataclass(frozen=True, slots=True)
class EncryptedPayload:
    """A validated VES-ENC-1 structure with its blobs decoded."""

    enc_version: int
    nonce: bytes
    ciphertext: bytes
    tag: bytes
    recipients: tuple[Recipient, ...]


@dataclass(frozen=True, slots=True)
class SealedPayload:
    payload_plain_hash: bytes
    payload_cipher_hash: bytes
    payload_aad: bytes
    payload_encrypted: dict[str, Any]


def b64u_encode(data: bytes) -> str:
    """Base64url (RFC 4648 §5) without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    """Decode base64url: unpadded, or canonically padded; non-zero trailing bits are refused."""
    body = text[:-2] if text.endswith("==") else text[:-1] if text.endswith("=") else text
    if not _B64U.match(body) or len(body) % 4 == 1:
        raise ValueError("not base64url")
    if body != text and len(text) % 4:
        raise ValueError("wrong padding")
    try:
        data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc
    if b64u_encode(data) != body:
        raise ValueError("non-canonical base64url (non-zero trailing bits)")
    return data


def _blob(obj: dict[str, Any], name: str, path: str, size: int | None) -> bytes:
    value = obj.get(name)
    if not isinstance(value, str):
        raise EncryptedStructureError(f"{path}{name}", "must be a base64url string")
    try:
        data = b64u_decode(value)
    except ValueError as exc:
        raise EncryptedStructureError(f"{path}{name}", str(exc)) from exc
    if size is not None and len(data) != size:
        raise EncryptedStructureError(f"{path}{name}", f"must decode to {size} bytes, not {len(data)}")
    return data


def _uint(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _U32_MAX


def parse_encrypted(value: Any) -> EncryptedPayload:
    """Validate a ``payload_encrypted`` JSON value (VES.md §8.1) and decode its blobs."""
    if not isinstance(value, dict):
        raise EncryptedStructureError("payload_encrypted", "must be an object")
    enc_version = value.get("enc_version")
    if not _uint(enc_version) or not 1 <= enc_version <= 3:
        raise EncryptedStructureError("enc_version", "must be 1, 2 or 3")
    if value.get("aead") != AEAD:
        raise EncryptedStructureError("aead", f"must be {AEAD!r}")
    hpke_params = value.get("hpke")
    if not isinstance(hpke_params, dict):
        raise EncryptedStructureError("hpke", "must be an object")
    if not isinstance(hpke_params.get("mode"), str) or hpke_params["mode"] not in HPKE_MODES:
        raise EncryptedStructureError("hpke.mode", "must be base, hybrid-base or pqc-base")
    if not isinstance(hpke_params.get("kem"), str) or hpke_params["kem"] not in HPKE_KEMS:
        raise EncryptedStructureError("hpke.kem", "unsupported KEM")
    if hpke_params.get("kdf") != HPKE_KDF:
        raise EncryptedStructureError("hpke.kdf", f"must be {HPKE_KDF!r}")
    if hpke_params.get("aead") != AEAD:
        raise EncryptedStructureError("hpke.aead", f"must be {AEAD!r}")
    nonce = _blob(value, "nonce_b64u", "", 12)
    ciphertext = _blob(value, "ciphertext_b64u", "", None)
    if not ciphertext:
        raise EncryptedStructureError("ciphertext_b64u", "must not be empty")
    tag = _blob(value, "tag_b64u", "", 16)
    raw_recipients = value.get("recipients")
    if not isinstance(raw_recipients, list) or not raw_recipients:
        raise EncryptedStructureError("recipients", "must be a non-empty array")
    recipients: list[Recipient] = []
    for i, raw in enumerate(raw_recipients):
        path = f"recipients[{i}]."
        if not isinstance(raw, dict):
            raise EncryptedStructureError(f"recipients[{i}]", "must be an object")
        kid = raw.get("recipient_kid")
        if not _uint(kid):
            raise EncryptedStructureError(f"{path}recipient_kid", "must be a u32")
        if recipients and kid <= recipients[-1].kid:
            raise EncryptedStructureError(f"{path}recipient_kid", "recipients must be sorted strictly ascending by kid")
        recipients.append(Recipient(kid, _blob(raw, "enc_b64u", path, 32), _blob(raw, "ct_b64u", path, 48)))
    return EncryptedPayload(enc_version, nonce, ciphertext, tag, tuple(recipients))


def cipher_hash_for(fields: EventSigningFields, encrypted: EncryptedPayload) -> bytes:
    """Recompute ``payload_cipher_hash`` as the server does (AAD from the claimed plain hash)."""
    digest = recipients_hash((r.kid, r.enc, r.ct) for r in encrypted.recipients)
    return payload_cipher_hash(encrypted.nonce, payload_aad_for(fields), encrypted.ciphertext, encrypted.tag, digest)


def seal(
    fields: EventSigningFields,
    payload: Any,
    recipients: Sequence[tuple[int, bytes]],
    *,
    salt: bytes | None = None,
    dek: bytes | None = None,
    nonce: bytes | None = None,
    ephemeral_private_keys: Sequence[bytes] | None = None,
    enc_version: int = 1,
) -> SealedPayload:
    """Encrypt ``payload`` for ``recipients`` (``(kid, X25519 public key)``) per VES.md §8.2.

    ``fields`` supplies the envelope context; its ``payload_plain_hash``/``payload_cipher_hash``
    are ignored (they are outputs). Randomness may be fixed for reproducible vectors:
    ``ephemeral_private_keys[i]`` belongs to ``recipients[i]`` in the order given.
    """
    if not recipients:
        raise ValueError("at least one recipient is required")
    salt = salt if salt is not None else os.urandom(16)
    dek = dek if dek is not None else os.urandom(32)
    nonce = nonce if nonce is not None else os.urandom(12)
    if len(salt) != 16 or len(dek) != 32 or len(nonce) != 12:
        raise ValueError("salt, dek and nonce must be 16, 32 and 12 bytes")
    ephemerals: list[bytes | None] = (
        list(ephemeral_private_keys) if ephemeral_private_keys is not None else [None for _ in recipients]
    )
    if len(ephemerals) != len(recipients):
        raise ValueError("one ephemeral key per recipient")
    plain_hash = payload_plain_hash_salted(salt, payload)
    context = replace(fields, payload_kind=1, payload_plain_hash=plain_hash, payload_cipher_hash=bytes(32))
    aad = payload_aad_for(context)
    sealed = AESGCM(dek).encrypt(nonce, salt + canonicalize(payload), aad)
    ciphertext, tag = sealed[:-16], sealed[-16:]
    wrapped: list[Recipient] = []
    for (kid, public_key), ephemeral in zip(recipients, ephemerals, strict=True):
        enc, ct = hpke.seal_base(public_key, aad, b"", dek, ephemeral_private_key=ephemeral)
        wrapped.append(Recipient(kid, enc, ct))
    wrapped.sort(key=lambda r: r.kid)
    if any(a.kid == b.kid for a, b in itertools.pairwise(wrapped)):
        raise ValueError("recipient kids must be distinct")
    structure = EncryptedPayload(enc_version, nonce, ciphertext, tag, tuple(wrapped))
    cipher_hash = cipher_hash_for(context, structure)
    body: dict[str, Any] = {
        "enc_version": enc_version,
        "aead": AEAD,
        "nonce_b64u": b64u_encode(nonce),
        "ciphertext_b64u": b64u_encode(ciphertext),
        "tag_b64u": b64u_encode(tag),
        "hpke": {"mode": "base", "kem": "X25519-HKDF-SHA256", "kdf": HPKE_KDF, "aead": AEAD},
        "recipients": [
            {"recipient_kid": r.kid, "enc_b64u": b64u_encode(r.enc), "ct_b64u": b64u_encode(r.ct)} for r in wrapped
        ],
    }
    return SealedPayload(plain_hash, cipher_hash, aad, body)


def open_payload(fields: EventSigningFields, payload_encrypted: Any, kid: int, private_key: bytes) -> Any:
    """Decrypt as recipient ``kid`` and check the result against ``fields.payload_plain_hash``.

    Raises :class:`OpenError` (or :class:`EncryptedStructureError` for a malformed structure).
    """
    structure = parse_encrypted(payload_encrypted)
    recipient = next((r for r in structure.recipients if r.kid == kid), None)
    if recipient is None:
        raise OpenError(f"no recipient with kid {kid}")
    aad = payload_aad_for(fields)
    try:
        dek = hpke.open_base(private_key, recipient.enc, aad, b"", recipient.ct)
    except hpke.HpkeError as exc:
        raise OpenError("could not unwrap the data key") from exc
    if len(dek) != 32:
        raise OpenError("the data key is not 32 bytes")
    try:
        plaintext = AESGCM(dek).decrypt(structure.nonce, structure.ciphertext + structure.tag, aad)
    except Exception as exc:  # InvalidTag
        raise OpenError("content decryption failed") from exc
    if len(plaintext) < 16:
        raise OpenError("plaintext shorter than the salt")
    try:
        payload = loads(plaintext[16:])
    except JSONDecodeError as exc:
        raise OpenError("plaintext is not JSON") from exc
    if payload_plain_hash_salted(plaintext[:16], payload) != fields.payload_plain_hash:
        raise OpenError("payload hash mismatch")
    return payload
