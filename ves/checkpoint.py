"""Signed checkpoints of a stream's RFC 6962 tree, in the signed-note text format.

A checkpoint (C2SP ``tlog-checkpoint``) states "the log named *origin* had *size* leaves with root
*hash*"; a signed note (C2SP ``signed-note``) appends Ed25519 signatures to that text. Layout (see
``docs/proofs.md``)::

    <sequencer>/<tenant uuid>/<store uuid>\\n     origin: names the sequencer and the stream
    <tree size, decimal, no leading zeros>\\n
    <base64 (standard, padded) of the 32-byte RFC 6962 root>\\n
    [<extension line>\\n ...]
    \\n
    \u2014 <key name> <base64(key id (4 bytes) || Ed25519 signature (64 bytes))>\\n
    [more signature lines]

The signature covers the body: every byte up to and including the newline that ends the last
body line. ``key id = SHA-256(key name || 0x0A || 0x01 || public key)[:4]`` (0x01 is the Ed25519
signature-type byte). Verifiers ignore signatures from keys they do not know, which is how
witness cosignatures and key rotation work: a verifier trusts a set of keys (its sequencer's
current and previous ones) and accepts a note with a valid line by any of them, and during a
rotation the sequencer signs each note with its previous keys too (``also_by`` of
:func:`sign_checkpoint`; ``docs/proofs.md``, "Rotating the sequencer key").

The root is the RFC 6962 tree's (:mod:`ves.rfc6962`), not the VES commitment tree's, so standard
transparency-log clients can check consistency between two checkpoints.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ves.length_checks import HASH_LEN, hash_check

__all__ = [
    "ED25519_SIGNATURE_TYPE",
    "Checkpoint",
    "CheckpointError",
    "Note",
    "NoteSignature",
    "PublicKeys",
    "SignedCheckpoint",
    "checkpoint_body",
    "checkpoint_origin",
    "key_id",
    "parse_checkpoint",
    "parse_note",
    "sign_checkpoint",
    "sign_note",
    "trusted_keys",
    "verifier_key",
    "verify_checkpoint",
    "verify_note",
]

#: The signature-type byte of Ed25519 keys in signed notes.
ED25519_SIGNATURE_TYPE = 0x01

_SIGNATURE_PREFIX = "\u2014 "  # EM DASH, then a space
_MAX_NOTE_BYTES = 1 << 16
_MAX_SIGNATURES = 100
_U64_MAX = 2**64 - 1


class CheckpointError(ValueError):
    """A checkpoint is malformed, or carries no valid signature by the expected key."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The signed statement: a stream's tree had ``tree_size`` leaves with ``root_hash``."""

    sequencer: str
    tenant_id: uuid.UUID
    store_id: uuid.UUID
    tree_size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    @property
    def origin(self) -> str:
        """The first line of the note."""
        return checkpoint_origin(sequencer=self.sequencer, tenant_id=self.tenant_id, store_id=self.store_id)


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: the key's name, its 4-byte id, and the signature bytes after the id."""

    key_name: str
    key_id: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class Note:
    """A parsed signed note: the exact signed text (ending in ``\\n``) and its signature lines.

    ``verified_by``: the trusted public keys whose lines :func:`verify_note` verified, in the
    order the caller gave them (empty for a note only parsed). It is about the verification, not
    the note, so it takes no part in equality: a verified note equals its parsed form."""

    body: str
    signatures: tuple[NoteSignature, ...]
    verified_by: tuple[bytes, ...] = field(default=(), compare=False)


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A parsed note: the checkpoint, the exact signed body text, every signature line and the
    trusted keys that verified it (see :class:`Note`)."""

    checkpoint: Checkpoint
    body: str
    signatures: tuple[NoteSignature, ...]
    verified_by: tuple[bytes, ...] = field(default=(), compare=False)


#: What a verifier trusts: one Ed25519 public key, or several (a sequencer's current and previous
#: keys while it rotates, witnesses).
PublicKeys = bytes | bytearray | memoryview | Iterable[bytes]


_check_hash = hash_check(CheckpointError)


def _check_key_name(key_name: str) -> None:
    if not key_name or "+" in key_name or any(ch.isspace() for ch in key_name):
        raise CheckpointError("a key name must be non-empty, without spaces or '+'")


def _check_line(line: str, what: str) -> None:
    if not line:
        raise CheckpointError(f"{what} must not be empty")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in line):
        raise CheckpointError(f"{what} must not contain control characters")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in line):
        raise CheckpointError(f"{what} must be valid UTF-8 text (no lone surrogates)")


def checkpoint_origin(*, sequencer: str, tenant_id: uuid.UUID, store_id: uuid.UUID) -> str:
    """``<sequencer>/<tenant>/<store>``: the log identity, one log per stream.

    ``sequencer`` is a schema-less name such as ``sequencer.example.com``; it must contain no
    spaces or ``+``, which the origin line forbids.
    """
    _check_line(sequencer, "sequencer")
    if "+" in sequencer or any(ch.isspace() for ch in sequencer):
        raise CheckpointError("the sequencer name must not contain spaces or '+'")
    return f"{sequencer}/{tenant_id}/{store_id}"


def checkpoint_body(
    *,
    sequencer: str,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    tree_size: int,
    root_hash: bytes,
    extensions: Sequence[str] = (),
) -> str:
    """The text that gets signed: origin, size, base64 root, extension lines, each ending in ``\\n``."""
    if not 0 <= tree_size <= _U64_MAX:
        raise CheckpointError("tree_size must fit in an unsigned 64-bit integer")
    _check_hash(root_hash, "root_hash")
    for line in extensions:
        _check_line(line, "an extension line")
    origin = checkpoint_origin(sequencer=sequencer, tenant_id=tenant_id, store_id=store_id)
    lines = [origin, str(tree_size), base64.b64encode(root_hash).decode("ascii"), *extensions]
    return "".join(f"{line}\n" for line in lines)


def key_id(key_name: str, public_key: bytes) -> bytes:
    """The 4-byte key id of an Ed25519 note key: ``SHA-256(name || 0x0A || 0x01 || key)[:4]``."""
    _check_key_name(key_name)
    if len(public_key) != 32:
        raise CheckpointError("an Ed25519 public key is 32 bytes")
    return hashlib.sha256(key_name.encode("utf-8") + b"\n" + bytes([ED25519_SIGNATURE_TYPE]) + public_key).digest()[:4]


def verifier_key(key_name: str, public_key: bytes) -> str:
    """The verifier-key string ``<name>+<key id hex>+<base64(0x01 || key)>`` that clients configure."""
    encoded = base64.b64encode(bytes([ED25519_SIGNATURE_TYPE]) + public_key).decode("ascii")
    return f"{key_name}+{key_id(key_name, public_key).hex()}+{encoded}"


def sign_note(body: str, seed: bytes, *, key_name: str) -> str:
    """One signature line (with its ``\\n``) over ``body``, by the Ed25519 key with this 32-byte seed."""
    if len(seed) != 32:
        raise CheckpointError("an Ed25519 seed is 32 bytes")
    private_key, note_key_id = _note_key(seed, key_name)
    signature = private_key.sign(body.encode("utf-8"))
    encoded = base64.b64encode(note_key_id + signature).decode("ascii")
    return f"{_SIGNATURE_PREFIX}{key_name} {encoded}\n"


@functools.lru_cache(maxsize=8)
def _note_key(seed: bytes, key_name: str) -> tuple[Ed25519PrivateKey, bytes]:
    """The private key of ``seed`` and its note key id under ``key_name``: a server signs every
    stream's checkpoint with one key, and deriving the public key for the id costs more than
    the signature (``docs/performance.md``, "Where the worker's time goes")."""
    private_key = Ed25519PrivateKey.from_private_bytes(seed)
    return private_key, key_id(key_name, private_key.public_key().public_bytes_raw())


def sign_checkpoint(
    seed: bytes,
    *,
    key_name: str,
    sequencer: str,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    tree_size: int,
    root_hash: bytes,
    extensions: Sequence[str] = (),
    also_by: Sequence[bytes] = (),
) -> str:
    """The complete signed note: body, blank line, one signature line by ``seed``'s key, then one
    line by each seed of ``also_by`` (a rotated sequencer's previous keys), all under ``key_name``.

    The lines differ by key id, so a verifier that trusts any one of these keys accepts the note
    and ignores the others' lines."""
    body = checkpoint_body(
        sequencer=sequencer,
        tenant_id=tenant_id,
        store_id=store_id,
        tree_size=tree_size,
        root_hash=root_hash,
        extensions=extensions,
    )
    seeds = list(dict.fromkeys((seed, *also_by)))
    if len(seeds) > _MAX_SIGNATURES:
        raise CheckpointError("too many signing keys")
    return body + "\n" + "".join(sign_note(body, each, key_name=key_name) for each in seeds)


def _parse_origin(origin: str) -> tuple[str, uuid.UUID, uuid.UUID]:
    parts = origin.rsplit("/", 2)
    if len(parts) != 3 or not parts[0]:
        raise CheckpointError("the origin must be <sequencer>/<tenant uuid>/<store uuid>")
    ids: list[uuid.UUID] = []
    for text in parts[1:]:
        try:
            value = uuid.UUID(text)
        except ValueError as exc:
            raise CheckpointError("the origin must be <sequencer>/<tenant uuid>/<store uuid>") from exc
        if str(value) != text:
            raise CheckpointError("UUIDs in the origin must be lowercase and hyphenated")
        ids.append(value)
    return parts[0], ids[0], ids[1]


def _parse_size(text: str) -> int:
    if not text.isascii() or not text.isdigit() or (len(text) > 1 and text[0] == "0"):
        raise CheckpointError("the tree size must be a decimal number without leading zeros")
    value = int(text)
    if value > _U64_MAX:
        raise CheckpointError("the tree size must fit in an unsigned 64-bit integer")
    return value


def _strict_b64decode(text: str, what: str) -> bytes:
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise CheckpointError(f"{what} is not standard base64") from exc
    if base64.b64encode(data).decode("ascii") != text:
        raise CheckpointError(f"{what} is not canonical base64")
    return data


def _parse_signature(line: str) -> NoteSignature:
    if not line.startswith(_SIGNATURE_PREFIX):
        raise CheckpointError("a signature line must start with an em dash and a space")
    fields = line[len(_SIGNATURE_PREFIX) :].split(" ")
    if len(fields) != 2:
        raise CheckpointError("a signature line is '\u2014 <key name> <base64>'")
    name, encoded = fields
    _check_key_name(name)
    data = _strict_b64decode(encoded, "a signature")
    if len(data) < 5:
        raise CheckpointError("a signature must hold a 4-byte key id and a signature")
    return NoteSignature(key_name=name, key_id=data[:4], signature=data[4:])


def parse_note(text: str) -> Note:
    """Split a signed note into its signed text and its signature lines, without verifying.

    Strict: the text is valid UTF-8 without control characters other than newlines, it ends with
    a newline, a blank line separates the text from at least one signature line, and every
    signature line is ``— <name> <canonical base64>``. The text itself must not contain a
    blank line (true of every checkpoint).
    """
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise CheckpointError("a note must be valid UTF-8 text") from exc
    if size > _MAX_NOTE_BYTES:
        raise CheckpointError("the note is too large")
    if not text.endswith("\n"):
        raise CheckpointError("a note ends with a newline")
    split = text.find("\n\n")
    if split < 0:
        raise CheckpointError("a note needs a blank line between its text and its signatures")
    body, signature_block = text[: split + 1], text[split + 2 :]
    for line in body[:-1].split("\n"):
        _check_line(line, "a note line")
    signature_lines = signature_block[:-1].split("\n") if signature_block else []
    if not signature_lines:
        raise CheckpointError("a signed note has at least one signature line")
    if len(signature_lines) > _MAX_SIGNATURES:
        raise CheckpointError("too many signature lines")
    return Note(body=body, signatures=tuple(_parse_signature(line) for line in signature_lines))


# Curve25519 in Edwards form: -x^2 + y^2 = 1 + d x^2 y^2 over GF(2^255 - 19).
_P = 2**255 - 19
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _decode_point(encoded: bytes) -> tuple[int, int] | None:
    """Decompress an Ed25519 point (RFC 8032 §5.1.3); ``None`` if invalid or non-canonical."""
    y = int.from_bytes(encoded, "little") & ((1 << 255) - 1)
    sign = encoded[31] >> 7
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P or (x == 0 and sign):
        return None
    if x & 1 != sign:
        x = _P - x
    return x, y


def _double(point: tuple[int, int]) -> tuple[int, int]:
    x, y = point
    dxy = _D * x * x * y * y
    return (
        2 * x * y * pow(1 + dxy, _P - 2, _P) % _P,
        (y * y + x * x) * pow(1 - dxy, _P - 2, _P) % _P,
    )


def _check_verifier_key(public_key: bytes) -> None:
    """Refuse keys that make forgeries possible: not a canonical point, or of small order.

    A small-order key A satisfies [8]A = identity, and cofactorless verifiers (OpenSSL included)
    then accept signatures that nobody made. Like Go's ``sumdb/note``, refuse such keys up front.
    """
    if len(public_key) != 32:
        raise CheckpointError("an Ed25519 public key is 32 bytes")
    point = _decode_point(public_key)
    if point is None:
        raise CheckpointError("the public key is not a canonical Ed25519 point")
    for _ in range(3):
        point = _double(point)
    if point == (0, 1):
        raise CheckpointError("the public key has small order")


def trusted_keys(public_keys: PublicKeys) -> tuple[bytes, ...]:
    """One public key, or several, as a tuple in the given order without repeats.

    Raises :class:`CheckpointError` for an empty set or a key that is not bytes (a hex string,
    say); lengths and points are checked where the keys are used.
    """
    if isinstance(public_keys, bytes | bytearray | memoryview):
        return (bytes(public_keys),)
    if isinstance(public_keys, str):
        raise CheckpointError("a public key is bytes, not text")
    keys: list[bytes] = []
    for key in public_keys:
        if not isinstance(key, bytes | bytearray | memoryview):
            raise CheckpointError(f"a public key is bytes, not {type(key).__name__}")
        keys.append(bytes(key))
    if not keys:
        raise CheckpointError("no trusted public key was given")
    return tuple(dict.fromkeys(keys))


def verify_note(text: str, public_key: PublicKeys, *, key_name: str | None = None) -> Note:
    """Parse a signed note and require a valid Ed25519 signature by ``public_key``: one trusted key,
    or a set of them (a sequencer's current and previous keys), any one of which suffices.

    The signature lines considered are those whose key id matches a trusted key under the line's
    key name (and, when given, whose name is ``key_name``); signatures by other keys are ignored.
    Raises :class:`CheckpointError` when the note is malformed, when a trusted key is unusable,
    when no line is from a trusted key, or when a line from a trusted key does not verify. The
    returned note's ``verified_by`` names the trusted keys whose lines verified.
    """
    note = parse_note(text)
    keys = trusted_keys(public_key)
    for key in keys:
        _check_verifier_key(key)
    message = note.body.encode("utf-8")
    verified: set[bytes] = set()
    for signature in note.signatures:
        if key_name is not None and signature.key_name != key_name:
            continue
        # Two trusted keys may share a 4-byte id: the line is theirs if one of them made it.
        candidates = [key for key in keys if signature.key_id == key_id(signature.key_name, key)]
        if not candidates:
            continue
        by = [key for key in candidates if _verifies(key, signature.signature, message)]
        if not by:
            raise CheckpointError(f"the signature by {signature.key_name!r} does not verify")
        verified.update(by)
    if not verified:
        raise CheckpointError(_no_trusted_line(note, keys, key_name))
    return replace(note, verified_by=tuple(key for key in keys if key in verified))


def _verifies(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except InvalidSignature:
        return False
    return True


def _no_trusted_line(note: Note, keys: tuple[bytes, ...], key_name: str | None) -> str:
    """Why no line counted: the note's lines (name and key id) beside the trusted keys' ids under
    those names, so that a verifier missing a rotated key can see which key signed."""
    reason = "no signature by this key" if len(keys) == 1 else f"no signature by any of the {len(keys)} trusted keys"
    lines = [s for s in note.signatures if key_name is None or s.key_name == key_name]
    if not lines:
        return f"{reason} (no signature line is named {key_name!r})"
    names = dict.fromkeys(s.key_name for s in lines)
    signed = _listed([f"{s.key_name}+{s.key_id.hex()}" for s in lines])
    trusted = _listed([f"{name}+{key_id(name, key).hex()}" for name in names for key in keys])
    return f"{reason} (the note is signed by {signed}; trusted: {trusted})"


def _listed(items: list[str], most: int = 8) -> str:
    """``items`` joined by commas, cut after ``most`` (a note may hold 100 lines)."""
    more = f", and {len(items) - most} more" if len(items) > most else ""
    return ", ".join(items[:most]) + more


def _parse_body(body: str) -> Checkpoint:
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("a checkpoint has an origin, a tree size and a root hash")
    sequencer, tenant_id, store_id = _parse_origin(lines[0])
    root_hash = _strict_b64decode(lines[2], "the root hash")
    if len(root_hash) != HASH_LEN:
        raise CheckpointError(f"the root hash must be {HASH_LEN} bytes")
    return Checkpoint(
        sequencer=sequencer,
        tenant_id=tenant_id,
        store_id=store_id,
        tree_size=_parse_size(lines[1]),
        root_hash=root_hash,
        extensions=tuple(lines[3:]),
    )


def parse_checkpoint(text: str) -> SignedCheckpoint:
    """Parse a signed checkpoint note without checking any signature (see :func:`parse_note`).

    The body must be a checkpoint with our origin shape ``<sequencer>/<tenant>/<store>``, a
    decimal size without leading zeros, and a root in canonical padded base64 of 32 bytes.
    """
    note = parse_note(text)
    return SignedCheckpoint(checkpoint=_parse_body(note.body), body=note.body, signatures=note.signatures)


def verify_checkpoint(text: str, public_key: PublicKeys, *, key_name: str | None = None) -> SignedCheckpoint:
    """Parse a signed checkpoint and require a valid signature by ``public_key``, one trusted key
    or several (see :func:`verify_note`).

    Returns the parsed checkpoint; raises :class:`CheckpointError` otherwise. The caller still has
    to check that the origin is the stream it expects and that the size never goes backwards.
    """
    note = verify_note(text, public_key, key_name=key_name)
    return SignedCheckpoint(
        checkpoint=_parse_body(note.body), body=note.body, signatures=note.signatures, verified_by=note.verified_by
    )
