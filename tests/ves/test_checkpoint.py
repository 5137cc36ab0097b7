"""Signed checkpoints: byte-exact signed-note interop, round trips, tampering and strict parsing."""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.ves.vectors import load
from ves.checkpoint import (
    Checkpoint,
    CheckpointError,
    checkpoint_body,
    key_id,
    parse_checkpoint,
    parse_note,
    sign_checkpoint,
    sign_note,
    verifier_key,
    verify_checkpoint,
    verify_note,
)
from ves.rfc6962 import InMemoryNodeStore, MerkleLog, leaf_hash, verify_consistency

NOTE: dict[str, str] = load("signed_note.json")
GO_SEED = base64.b64decode(NOTE["signer_key"].split("+", 4)[4])[1:]
GO_PUBLIC = base64.b64decode(NOTE["verifier_key"].split("+", 2)[2])[1:]

SEED = hashlib.sha256(b"checkpoint test seed").digest()
PUBLIC = Ed25519PrivateKey.from_private_bytes(SEED).public_key().public_bytes_raw()
TENANT = uuid.UUID("d13c513a-42f8-4da1-97b1-165f0971b7c4")
STORE = uuid.UUID("25abd89b-d67e-4d92-8a83-18174d645fa6")
ROOT = bytes(range(32))


def signed(**overrides: Any) -> str:
    args: dict[str, Any] = {
        "key_name": "sequencer.example",
        "sequencer": "sequencer.example",
        "tenant_id": TENANT,
        "store_id": STORE,
        "tree_size": 12,
        "root_hash": ROOT,
        **overrides,
    }
    return sign_checkpoint(SEED, **args)


def test_note_signatures_match_the_go_implementation_byte_for_byte() -> None:
    assert len(GO_SEED) == 32
    assert verifier_key("PeterNeumann", GO_PUBLIC) == NOTE["verifier_key"]
    assert key_id("PeterNeumann", GO_PUBLIC).hex() == "c74f20a3"
    assert sign_note(NOTE["text"], GO_SEED, key_name="PeterNeumann") == NOTE["signature_line"]
    note = verify_note(NOTE["text"] + "\n" + NOTE["signature_line"], GO_PUBLIC)
    assert note.body == NOTE["text"]
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_note(NOTE["text"].replace("cryptography", "cryptographY") + "\n" + NOTE["signature_line"], GO_PUBLIC)


def test_the_checkpoint_text_has_the_documented_layout() -> None:
    text = signed(extensions=["Timestamp: 1700000000"])
    body, _, signature_line = text.partition("\n\n")

    assert body.split("\n") == [
        f"sequencer.example/{TENANT}/{STORE}",
        "12",
        base64.b64encode(ROOT).decode(),
        "Timestamp: 1700000000",
    ]
    name, blob = signature_line.removeprefix("\u2014 ").removesuffix("\n").split(" ")
    raw = base64.b64decode(blob)
    assert name == "sequencer.example"
    assert raw[:4] == hashlib.sha256(b"sequencer.example\n\x01" + PUBLIC).digest()[:4]
    Ed25519PrivateKey.from_private_bytes(SEED).public_key().verify(raw[4:], (body + "\n").encode())
    assert (
        checkpoint_body(
            sequencer="sequencer.example",
            tenant_id=TENANT,
            store_id=STORE,
            tree_size=12,
            root_hash=ROOT,
            extensions=["Timestamp: 1700000000"],
        )
        == body + "\n"
    )


def test_a_signed_checkpoint_round_trips() -> None:
    result = verify_checkpoint(signed(), PUBLIC)

    assert result.checkpoint == Checkpoint(
        sequencer="sequencer.example", tenant_id=TENANT, store_id=STORE, tree_size=12, root_hash=ROOT
    )
    assert result.checkpoint.origin == f"sequencer.example/{TENANT}/{STORE}"
    assert parse_checkpoint(signed()) == result
    assert verify_checkpoint(signed(), PUBLIC, key_name="sequencer.example") == result


@given(
    st.integers(min_value=0, max_value=2**64 - 1),
    st.binary(min_size=32, max_size=32),
    st.lists(
        st.text(
            st.characters(min_codepoint=0x20, exclude_characters="\x7f", exclude_categories=["Cs"]),
            min_size=1,
            max_size=20,
        ),
        max_size=3,
    ),
    st.integers(min_value=0, max_value=200),
)
@settings(max_examples=100)
def test_any_checkpoint_round_trips_and_any_changed_byte_fails(
    size: int, root_hash: bytes, extensions: list[str], position: int
) -> None:
    text = signed(tree_size=size, root_hash=root_hash, extensions=extensions)
    checkpoint = verify_checkpoint(text, PUBLIC).checkpoint
    assert (checkpoint.tree_size, checkpoint.root_hash, checkpoint.extensions) == (size, root_hash, tuple(extensions))

    body_end = text.index("\n\n")
    at = position % body_end
    if text[at] == "\n":
        return
    replacement = "A" if text[at] != "A" else "B"
    tampered = text[:at] + replacement + text[at + 1 :]
    with pytest.raises(CheckpointError):
        verify_checkpoint(tampered, PUBLIC)


def test_a_checkpoint_of_a_real_log_signs_its_root_and_supports_consistency() -> None:
    log = MerkleLog(InMemoryNodeStore())
    log.append(leaf_hash(f"event {i}".encode()) for i in range(10))
    old = verify_checkpoint(signed(tree_size=log.size, root_hash=log.root()), PUBLIC).checkpoint
    log.append(leaf_hash(f"event {i}".encode()) for i in range(10, 25))
    new = verify_checkpoint(signed(tree_size=log.size, root_hash=log.root()), PUBLIC).checkpoint

    assert verify_consistency(
        old_size=old.tree_size,
        new_size=new.tree_size,
        old_root=old.root_hash,
        new_root=new.root_hash,
        proof=log.consistency_proof(old.tree_size, new.tree_size),
    )


def test_unknown_signatures_are_ignored_and_cosignatures_verify() -> None:
    other_seed = hashlib.sha256(b"witness").digest()
    other_public = Ed25519PrivateKey.from_private_bytes(other_seed).public_key().public_bytes_raw()
    text = signed()
    body = text[: text.index("\n\n") + 1]
    cosigned = text + sign_note(body, other_seed, key_name="witness.example")
    unknown = text + "\u2014 someone AAAAAAAA\n"

    assert len(parse_checkpoint(cosigned).signatures) == 2
    assert verify_checkpoint(cosigned, PUBLIC).checkpoint.tree_size == 12
    assert verify_checkpoint(cosigned, other_public, key_name="witness.example").checkpoint.tree_size == 12
    assert verify_checkpoint(unknown, PUBLIC).checkpoint.tree_size == 12


@settings(max_examples=40, deadline=None)  # up to 12 key derivations an example: slow on a loaded machine
@given(
    st.lists(
        st.tuples(st.binary(min_size=32, max_size=32), st.sampled_from(["a.example", "b.example"])),
        min_size=2,
        max_size=12,
    )
)
def test_each_note_is_signed_by_its_own_seed_and_name_in_any_order(signers: list[tuple[bytes, str]]) -> None:
    """A server keeps its signing key between notes; notes by other seeds or names, interleaved,
    still carry their own key's id and signature."""
    for seed, name in signers:
        public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
        body = f"{name}/{seed.hex()}\n1\n{base64.b64encode(ROOT).decode()}\n"
        line = sign_note(body, seed, key_name=name)
        assert base64.b64decode(line.split(" ")[2])[:4] == key_id(name, public)
        assert verify_note(f"{body}\n{line}", public, key_name=name).body == body


def test_verification_fails_for_the_wrong_key_name_or_a_forged_line() -> None:
    text = signed()
    other_public = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"x").digest()).public_key().public_bytes_raw()
    name, blob = text.split("\n\n")[1].removeprefix("\u2014 ").removesuffix("\n").split(" ")
    raw = base64.b64decode(blob)
    forged = text.split("\n\n")[0] + "\n\n\u2014 " + name + " " + base64.b64encode(raw[:4] + bytes(64)).decode() + "\n"

    with pytest.raises(CheckpointError, match="no signature by this key"):
        verify_checkpoint(text, other_public)
    with pytest.raises(CheckpointError, match="no signature by this key"):
        verify_checkpoint(text, PUBLIC, key_name="someone-else")
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_checkpoint(forged, PUBLIC)
    with pytest.raises(CheckpointError, match="32 bytes"):
        verify_checkpoint(text, PUBLIC[:31])


ROOT_B64 = base64.b64encode(ROOT).decode()
SIGNATURE = signed().split("\n\n")[1]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"sequencer.example/{TENANT}/{STORE}\n12\n{ROOT_B64}\n\n{SIGNATURE}".rstrip("\n"), "ends with a newline"),
        (f"sequencer.example/{TENANT}/{STORE}\n12\n{ROOT_B64}\n", "blank line"),
        (f"sequencer.example/{TENANT}/{STORE}\n12\n{ROOT_B64}\n\n", "at least one signature"),
        (f"sequencer.example/{TENANT}/{STORE}\n012\n{ROOT_B64}\n\n{SIGNATURE}", "leading zeros"),
        (f"sequencer.example/{TENANT}/{STORE}\n+12\n{ROOT_B64}\n\n{SIGNATURE}", "decimal"),
        (f"sequencer.example/{TENANT}/{STORE}\n{2**64}\n{ROOT_B64}\n\n{SIGNATURE}", "64-bit"),
        (f"sequencer.example/{TENANT}/{STORE}\n12\n{ROOT_B64.rstrip('=')}\n\n{SIGNATURE}", "base64"),
        (f"sequencer.example/{TENANT}/{STORE}\n12\n{base64.b64encode(ROOT[:31]).decode()}\n\n{SIGNATURE}", "32 bytes"),
        (f"sequencer.example/{TENANT}/{STORE}\n12\n\n{SIGNATURE}", "origin, a tree size"),
        (f"sequencer.example/{TENANT}\n12\n{ROOT_B64}\n\n{SIGNATURE}", "origin must be"),
        (f"sequencer.example/{TENANT}/{str(STORE).upper()}\n12\n{ROOT_B64}\n\n{SIGNATURE}", "lowercase"),
        (f"sequencer.example/{TENANT}/{STORE}\r\n12\n{ROOT_B64}\n\n{SIGNATURE}", "control"),
        (f"sequencer.example/{TENANT}/{STORE}\n12\n{ROOT_B64}\n\n- sequencer.example AAAAAAAA\n", "em dash"),
        (f"sequencer.example/{TENANT}/{STORE}\n12\n{ROOT_B64}\n\n\u2014 a b c\n", "key name"),
        (f"sequencer.example/{TENANT}/{STORE}\n12\n{ROOT_B64}\n\n\u2014 a AAAA\n", "4-byte key id"),
        (f"sequencer.example/{TENANT}/{STORE}\n12\n{ROOT_B64}\n\n{SIGNATURE}\n", "em dash"),
        (f"sequencer.example/{TENANT}/{STORE}\n12\n{ROOT_B64}\n\n" + SIGNATURE * 101, "too many"),
        (f"sequencer.example/{TENANT}/{STORE}\n12\n{ROOT_B64}\n\ud800\n\n{SIGNATURE}", "UTF-8"),
    ],
)
def test_malformed_checkpoints_are_refused(text: str, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        parse_checkpoint(text)


def test_parse_note_accepts_non_checkpoint_text() -> None:
    note = parse_note(NOTE["text"] + "\n" + NOTE["signature_line"])
    assert note.signatures[0].key_name == "PeterNeumann"
    with pytest.raises(CheckpointError):
        parse_checkpoint(NOTE["text"] + "\n" + NOTE["signature_line"])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"key_name": "has space"}, "key name"),
        ({"key_name": "a+b"}, "key name"),
        ({"key_name": ""}, "key name"),
        ({"sequencer": "a b"}, "control|spaces"),
        ({"sequencer": "a+b"}, "spaces or"),
        ({"sequencer": ""}, "empty"),
        ({"tree_size": -1}, "64-bit"),
        ({"root_hash": b"\x00" * 31}, "32 bytes"),
        ({"extensions": [""]}, "empty"),
        ({"extensions": ["two\nlines"]}, "control"),
        ({"extensions": ["\ud800"]}, "surrogates"),
    ],
)
def test_signing_refuses_values_the_format_cannot_carry(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        signed(**overrides)


def test_a_seed_must_be_32_bytes() -> None:
    with pytest.raises(CheckpointError, match="seed"):
        sign_note("x\n", b"\x00" * 31, key_name="k")


P25519 = 2**255 - 19


@pytest.mark.parametrize(
    ("public_key", "message"),
    [
        (bytes(32), "small order"),  # y = 0: a point of order 4
        ((1).to_bytes(32, "little"), "small order"),  # the identity
        ((P25519 - 1).to_bytes(32, "little"), "small order"),  # (0, -1), order 2
        (P25519.to_bytes(32, "little"), "canonical"),  # y = p, not reduced
        (b"\xff" * 32, "canonical"),
        ((2).to_bytes(32, "little"), "canonical"),  # y = 2 is not on the curve
    ],
)
def test_weak_or_invalid_verifier_keys_are_refused(public_key: bytes, message: str) -> None:
    """With a small-order key, cofactorless verification accepts signatures nobody made."""
    forged = signed().split("\n\n")[0] + "\n\n\u2014 k " + base64.b64encode(bytes(68)).decode() + "\n"

    with pytest.raises(CheckpointError, match=message):
        verify_checkpoint(forged, public_key)


def test_generated_keys_pass_the_key_checks() -> None:
    for index in range(50):
        seed = hashlib.sha256(index.to_bytes(2, "big")).digest()
        public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
        text = sign_checkpoint(
            seed, key_name="k", sequencer="s", tenant_id=TENANT, store_id=STORE, tree_size=index, root_hash=ROOT
        )
        assert verify_checkpoint(text, public).checkpoint.tree_size == index
