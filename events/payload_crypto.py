"""Legacy payloads encrypted at rest: AES-256-GCM ``SSE1`` blobs under per-tenant keyrings.

Format (the reference's, ``VES.md`` §8.5): ``b"SSE1" || nonce(12) || AES-256-GCM(key, nonce,
plaintext, aad)`` with ``aad = SHA256("STATESET_PAYLOAD_ATREST_AAD_V1" || UUID tenant || UUID store
|| UUID event || U64 seq || STR entity_type || STR entity_id || STR event_type)``, so a blob
moved to another row (or stream, or sequence) does not decrypt. ``events.payload_format`` is
0 for plain JSON bytes and 1 for ``SSE1``; ``events.payload_key_id`` names the key that
encrypted the row, so rotation (``reencrypt_payloads``) finds rows not on the newest key.

Modes (``PAYLOAD_ENCRYPTION_MODE``): ``required`` — every new payload is encrypted, a tenant
without keys cannot ingest (503); ``optional`` — encrypt when the tenant has keys;
``disabled`` — store plaintext (existing blobs still decrypt). Hashes are always computed over
the plaintext's canonical form, before any of this.

A blob that does not open raises a :class:`PayloadDecryptionError`, a 500 ``payload_integrity``
on the API (``docs/errors.md``) whose ``str()`` names the row and why: :class:`PayloadAlteredError`
when the key the row names is in the ring (the blob, or a field its associated data binds, was
altered, or the row was moved: permanent), :class:`PayloadKeyMissingError` when that key is not
(restored by putting the key back), the base class when the reader did not name the key.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import os
import uuid
from dataclasses import dataclass, field

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from events.errors import PayloadIntegrityError
from sequencer_project.api.errors import SequencerError
from ves.encoding import str3_bytes, uuid_bytes

MAGIC = b"SSE1"
NONCE_BYTES = 12
_SEALED_AT = len(MAGIC) + NONCE_BYTES  # where the ciphertext starts in an SSE1 blob
_SEALED_MIN = _SEALED_AT + 16  # and the shortest blob: an empty plaintext's tag
AAD_TAG = b"STATESET_PAYLOAD_ATREST_AAD_V1"
FORMAT_PLAIN = 0
FORMAT_SSE1 = 1
MODES = ("required", "optional", "disabled")


class PayloadEncryptionUnavailableError(SequencerError):
    code = "payload_encryption_unavailable"
    http_status = 503
    title = "Payload encryption is required but the tenant has no key"


class PayloadDecryptionError(PayloadIntegrityError):
    """A stored blob does not decrypt: wrong or missing key, tampering, or a moved row (500
    ``payload_integrity``). This class itself when the reader named no key id, so why is unknown."""


class PayloadAlteredError(PayloadDecryptionError):
    """The key the row names is in the tenant's ring and does not open the blob, or the blob is
    no ``SSE1`` blob: the blob, or a field its associated data binds, was altered, or the row was
    moved. No key coming back repairs it."""


class PayloadKeyMissingError(PayloadDecryptionError):
    """The key the row names is not in the tenant's ring and no other key opens the blob, or the
    tenant has no key at all: putting the key back opens it."""


class UnknownPayloadFormatError(PayloadDecryptionError):
    """A row written by a newer version, in a format this one cannot read."""


class KeyringConfigError(ValueError):
    """The key settings cannot be parsed (reported by the system check)."""


@dataclass(frozen=True, slots=True)
class PayloadKey:
    key_id: int
    aead: AESGCM


@dataclass(frozen=True, slots=True)
class Keyring:
    """A tenant's keys, newest (encrypting) first."""

    keys: tuple[PayloadKey, ...]
    by_id: dict[int, PayloadKey] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {key.key_id: key for key in self.keys})

    @property
    def newest(self) -> PayloadKey | None:
        return self.keys[0] if self.keys else None

    def get(self, key_id: int | None) -> PayloadKey | None:
        return self.by_id.get(key_id) if key_id is not None else None


def _key_bytes(text: str) -> bytes:
    text = text.strip()
    try:
        raw = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        try:
            raw = base64.b64decode(
                text + "=" * (-len(text) % 4), altchars=b"-_" if "-" in text or "_" in text else None
            )
        except (binascii.Error, ValueError) as exc:
            raise KeyringConfigError("a payload key is neither hex nor base64") from exc
    if len(raw) != 32:
        raise KeyringConfigError(f"a payload key must be 32 bytes, not {len(raw)}")
    return raw


def parse_keyring(spec: str) -> Keyring:
    """``"<id>:<key>,<id>:<key>"`` (first encrypts) into a :class:`Keyring`."""
    keys: list[PayloadKey] = []
    for item in (part.strip() for part in spec.replace("\n", ",").split(",")):
        if not item:
            continue
        key_id_text, sep, key_text = item.partition(":")
        if not sep or not key_id_text.strip().isdigit():
            raise KeyringConfigError("each payload key is '<key_id>:<32 bytes hex or base64>'")
        key_id = int(key_id_text)
        if not 1 <= key_id <= 32767:
            raise KeyringConfigError("payload key ids are 1..32767")
        if any(k.key_id == key_id for k in keys):
            raise KeyringConfigError(f"payload key id {key_id} appears twice")
        keys.append(PayloadKey(key_id, AESGCM(_key_bytes(key_text))))
    return Keyring(tuple(keys))


@functools.cache
def _keyrings(global_spec: str, by_tenant_spec: str) -> tuple[Keyring, dict[uuid.UUID, Keyring]]:
    by_tenant: dict[uuid.UUID, Keyring] = {}
    if by_tenant_spec.strip():
        try:
            mapping = orjson.loads(by_tenant_spec)
        except orjson.JSONDecodeError as exc:
            raise KeyringConfigError("PAYLOAD_ENCRYPTION_KEYS_BY_TENANT must be a JSON object") from exc
        if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
            raise KeyringConfigError("PAYLOAD_ENCRYPTION_KEYS_BY_TENANT maps tenant ids to key strings")
        try:
            by_tenant = {uuid.UUID(t): parse_keyring(spec) for t, spec in mapping.items()}
        except ValueError as exc:
            raise KeyringConfigError(str(exc)) from exc
    return parse_keyring(global_spec), by_tenant


@dataclass(frozen=True, slots=True)
class _Configured:
    """The process's payload settings, read once: ingest and projections ask per event."""

    mode: str
    global_ring: Keyring
    by_tenant: dict[uuid.UUID, Keyring]


_configured: _Configured | None = None


def _configuration() -> _Configured:
    global _configured
    configured = _configured
    if configured is None:
        global_ring, by_tenant = _keyrings(settings.PAYLOAD_ENCRYPTION_KEYS, settings.PAYLOAD_ENCRYPTION_KEYS_BY_TENANT)
        configured = _configured = _Configured(settings.PAYLOAD_ENCRYPTION_MODE, global_ring, by_tenant)
    return configured


@receiver(setting_changed)
def _forget_configuration(*, setting: str, **kwargs: object) -> None:
    """Tests (and ``override_settings``) change the keys or the mode: read them again."""
    global _configured
    if setting.startswith("PAYLOAD_ENCRYPTION_"):
        _configured = None


def keyring_for(tenant_id: uuid.UUID) -> Keyring:
    """The tenant's keyring: its own when configured, else the global one (may be empty)."""
    configured = _configuration()
    return configured.by_tenant.get(tenant_id, configured.global_ring)


def payload_aad(
    tenant_id: uuid.UUID | str,
    store_id: uuid.UUID | str,
    event_id: uuid.UUID | str,
    sequence_number: int,
    entity_type: str,
    entity_id: str,
    event_type: str,
) -> bytes:
    """The associated data that binds a sealed payload to its event's place and identity.

    ``SHA-256(AAD_TAG || UUID tenant || UUID store || UUID event || U64 sequence || STR
    entity_type || STR entity_id || STR event_type)``, pinned by
    ``tests/events/test_payload_encryption.py``."""
    return payload_aad_in_stream(
        payload_aad_prefix(tenant_id, store_id),
        event_id if isinstance(event_id, uuid.UUID) else uuid.UUID(event_id),
        sequence_number,
        str3_bytes(entity_type, entity_id, event_type),
    )


def payload_aad_prefix(tenant_id: uuid.UUID | str, store_id: uuid.UUID | str) -> bytes:
    """The first bytes of the associated data of every payload of one stream."""
    return AAD_TAG + uuid_bytes(tenant_id) + uuid_bytes(store_id)


def payload_aad_in_stream(stream_prefix: bytes, event_id: uuid.UUID, sequence_number: int, names: bytes) -> bytes:
    """:func:`payload_aad` after the stream's :func:`payload_aad_prefix`, with the event's
    ``names`` already encoded (``str3_bytes(entity_type, entity_id, event_type)``; ingest encodes
    them once for this and the envelope hash): it runs once per event sealed or opened
    (docs/performance.md, "Stream prefixes")."""
    return hashlib.sha256(
        b"".join(
            (
                stream_prefix,
                event_id.int.to_bytes(16, "big"),
                sequence_number.to_bytes(8, "big"),
                names,
            )
        )
    ).digest()


def encrypt_blob(key: PayloadKey, plaintext: bytes, aad: bytes, nonce: bytes | None = None) -> bytes:
    """An ``SSE1`` blob. ``nonce``: :data:`NONCE_BYTES` fresh random bytes, drawn here when not
    given (:func:`random_nonces` draws a batch's in one system call); never reused."""
    if nonce is None:
        nonce = os.urandom(NONCE_BYTES)
    return MAGIC + nonce + key.aead.encrypt(nonce, plaintext, aad)


def random_nonces(count: int) -> list[bytes]:
    """``count`` fresh nonces from one ``os.urandom`` call (one ``getrandom`` per batch)."""
    pool = os.urandom(NONCE_BYTES * count)
    return [pool[start : start + NONCE_BYTES] for start in range(0, len(pool), NONCE_BYTES)]


def key_note(key_id: int | None) -> str:
    """How a :class:`PayloadDecryptionError` names the key the row records."""
    return f"key id {key_id}" if key_id is not None else "key id not known to the reader"


def decrypt_blob(keyring: Keyring, key_id: int | None, blob: bytes, aad: bytes) -> bytes:
    """Open an ``SSE1`` blob with the named key (all keys when the id is unknown or not in the
    ring). Raises :class:`PayloadAlteredError`, :class:`PayloadKeyMissingError`, or (no key id
    named, and the ring has keys) :class:`PayloadDecryptionError`."""
    if not blob.startswith(MAGIC) or len(blob) < _SEALED_MIN:
        raise PayloadAlteredError("the stored blob is not an SSE1 blob", key=key_note(key_id))
    nonce, sealed = blob[len(MAGIC) : _SEALED_AT], blob[_SEALED_AT:]
    named = keyring.get(key_id)
    for key in (named,) if named is not None else keyring.keys:
        try:
            return key.aead.decrypt(nonce, sealed, aad)
        except InvalidTag:
            continue
    if named is not None:
        raise PayloadAlteredError(
            "that key is in the tenant's keyring and does not open the blob: the blob, or a field its "
            "associated data binds, was altered, or the row was moved",
            key=key_note(key_id),
        )
    if not keyring.keys:
        raise PayloadKeyMissingError("the tenant has no payload key", key=key_note(key_id))
    if key_id is not None:
        raise PayloadKeyMissingError(
            "that key is not in the tenant's keyring, and no key of it opens the blob", key=key_note(key_id)
        )
    raise PayloadDecryptionError("no key of the tenant's keyring opens the blob", key=key_note(key_id))


@dataclass(slots=True)  # not frozen: the projection runner builds one per event (~1.1 µs frozen, ~0.2 not)
class StoredPayload:
    """A legacy payload as a row holds it, with the fields its ``SSE1`` associated data binds."""

    tenant_id: uuid.UUID
    store_id: uuid.UUID
    event_id: uuid.UUID
    sequence_number: int
    entity_type: str
    entity_id: str
    event_type: str
    payload: bytes | memoryview
    payload_format: int
    payload_key_id: int | None = None


def payload_open(stored: StoredPayload) -> bytes:
    """The plaintext JSON bytes of a stored legacy payload, whatever its format.

    The one reader of ``events.payload``: queries, bundles, projections, dead-letter retries,
    the admin and re-encryption all open payloads here, or through :class:`StreamPayloads`
    (which this calls) when they open many of one stream. ``SSE1`` blobs are opened with the
    named key of the tenant's ring, else with every key of it (rows written before a key id
    was recorded). Raises :class:`PayloadDecryptionError` (naming the row) when no key opens the
    blob and :class:`UnknownPayloadFormatError` for a format this version does not know.
    """
    return StreamPayloads(stored.tenant_id, stored.store_id).open(
        stored.event_id,
        stored.sequence_number,
        str3_bytes(stored.entity_type, stored.entity_id, stored.event_type),
        stored.payload,
        stored.payload_format,
        stored.payload_key_id,
    )


class StreamPayloads:
    """Opens the stored payloads of one stream, as :func:`payload_open` does: the associated data's
    stream prefix and the tenant's keyring are found once for a range or a history, not per event."""

    __slots__ = ("_keyring", "_prefix", "store_id", "tenant_id")

    def __init__(self, tenant_id: uuid.UUID, store_id: uuid.UUID) -> None:
        self.tenant_id = tenant_id
        self.store_id = store_id
        self._prefix = payload_aad_prefix(tenant_id, store_id)
        self._keyring = keyring_for(tenant_id)

    def open(
        self,
        event_id: uuid.UUID,
        sequence_number: int,
        names: bytes,
        payload: bytes | memoryview,
        payload_format: int,
        key_id: int | None = None,
    ) -> bytes:
        """The plaintext of one event's payload; ``names``: ``str3_bytes(entity_type, entity_id,
        event_type)``. A :class:`PayloadDecryptionError` names this row."""
        blob = bytes(payload)
        if payload_format == FORMAT_PLAIN:
            return blob
        try:
            if payload_format == FORMAT_SSE1:
                aad = payload_aad_in_stream(self._prefix, event_id, sequence_number, names)
                return decrypt_blob(self._keyring, key_id, blob, aad)
            raise UnknownPayloadFormatError(
                f"payload format {payload_format} is not known to this version", key=key_note(key_id)
            )
        except PayloadDecryptionError as exc:
            exc.at(tenant_id=self.tenant_id, store_id=self.store_id, sequence_number=sequence_number, event_id=event_id)
            raise


def encryption_key_for_write(tenant_id: uuid.UUID) -> PayloadKey | None:
    """The key new payloads of the tenant are sealed with, ``None`` to store plaintext."""
    mode = _configuration().mode
    if mode == "disabled":
        return None
    key = keyring_for(tenant_id).newest
    if key is None and mode == "required":
        raise PayloadEncryptionUnavailableError(
            "PAYLOAD_ENCRYPTION_MODE is required and no payload key is configured for this tenant."
        )
    return key
