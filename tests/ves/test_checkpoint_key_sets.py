"""Signed notes verified against a set of trusted keys (a sequencer's current and previous keys,
``docs/proofs.md``, "Rotating the sequencer key"), and notes signed by several seeds at once."""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ves.checkpoint import (
    CheckpointError,
    checkpoint_body,
    key_id,
    parse_checkpoint,
    sign_checkpoint,
    sign_note,
    trusted_keys,
    verify_checkpoint,
    verify_note,
)
from ves.cli import parser
from ves.signing import public_key_from_seed

SEEDS = [hashlib.sha256(f"rotation seed {n}".encode()).digest() for n in range(4)]
KEYS = [public_key_from_seed(seed) for seed in SEEDS]
OLD, NEW, WITNESS, OTHER = KEYS
NAME = "sequencer.example"
TENANT = uuid.UUID("d13c513a-42f8-4da1-97b1-165f0971b7c4")
STORE = uuid.UUID("25abd89b-d67e-4d92-8a83-18174d645fa6")
BODY = checkpoint_body(sequencer=NAME, tenant_id=TENANT, store_id=STORE, tree_size=7, root_hash=bytes(range(32)))


def note(*seeds: bytes, name: str = NAME) -> str:
    return BODY + "\n" + "".join(sign_note(BODY, seed, key_name=name) for seed in seeds)


def checkpoint(seed: bytes, **extra: Any) -> str:
    return sign_checkpoint(
        seed, key_name=NAME, sequencer=NAME, tenant_id=TENANT, store_id=STORE, tree_size=7, root_hash=bytes(32), **extra
    )


def test_a_line_by_an_untrusted_key_is_ignored() -> None:
    text = note(SEEDS[2], SEEDS[0])  # a witness's line first, then the old key's
    assert verify_note(text, {OLD, NEW}).verified_by == (OLD,)
    assert verify_checkpoint(text, [NEW, OLD]).verified_by == (OLD,)


def test_without_a_line_by_a_trusted_key_the_note_fails() -> None:
    text = note(SEEDS[1])
    with pytest.raises(CheckpointError, match=r"no signature by this key \(the note is signed by sequencer\.example\+"):
        verify_note(text, OLD)
    with pytest.raises(CheckpointError, match="no signature by any of the 2 trusted keys") as raised:
        verify_note(text, [OLD, WITNESS])
    # The message names the note's key id and the trusted ones, so a missing rotated key shows.
    assert key_id(NAME, NEW).hex() in str(raised.value)
    assert key_id(NAME, OLD).hex() in str(raised.value)
    with pytest.raises(CheckpointError, match="no signature line is named 'someone-else'"):
        verify_note(text, [NEW], key_name="someone-else")
    crowded = note(*(hashlib.sha256(bytes([n])).digest() for n in range(10)))
    with pytest.raises(CheckpointError, match=r", and 2 more; trusted: "):
        verify_note(crowded, OLD)


def test_a_bad_line_by_a_trusted_key_fails_even_beside_a_good_one() -> None:
    good, bad = note(SEEDS[1]), note(SEEDS[0])
    name, blob = bad.split("\n\n")[1].removeprefix("\u2014 ").removesuffix("\n").split(" ")
    forged_line = f"\u2014 {name} {base64.b64encode(base64.b64decode(blob)[:4] + bytes(64)).decode()}\n"
    forged = good + forged_line
    assert verify_note(forged, NEW).verified_by == (NEW,)  # the forged line is not by a trusted key
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_note(forged, {NEW, OLD})


def test_every_trusted_key_is_checked_and_the_set_is_not_empty() -> None:
    text = note(SEEDS[0])
    with pytest.raises(CheckpointError, match="small order"):
        verify_note(text, [OLD, bytes(32)])
    with pytest.raises(CheckpointError, match="32 bytes"):
        verify_note(text, [OLD, OLD[:31]])
    with pytest.raises(CheckpointError, match="no trusted public key"):
        verify_note(text, [])
    with pytest.raises(CheckpointError, match="not text"):
        verify_note(text, OLD.hex())  # type: ignore[arg-type]
    with pytest.raises(CheckpointError, match="not int"):
        trusted_keys([OLD, 5])  # type: ignore[list-item]
    # One key is still one key, whatever bytes-like type holds it; repeats collapse.
    assert verify_note(text, bytearray(OLD)).verified_by == (OLD,)
    assert trusted_keys(memoryview(OLD)) == (OLD,)
    assert trusted_keys([NEW, OLD, NEW]) == (NEW, OLD)


def test_sign_checkpoint_adds_a_line_per_previous_seed() -> None:
    plain = checkpoint(SEEDS[1])
    rotated = checkpoint(SEEDS[1], also_by=[SEEDS[0], SEEDS[1], SEEDS[0]])
    assert rotated.startswith(plain)  # the current key's line comes first, as before
    parsed = parse_checkpoint(rotated)
    assert [(s.key_name, s.key_id) for s in parsed.signatures] == [(NAME, key_id(NAME, NEW)), (NAME, key_id(NAME, OLD))]
    for trusted, by in ((OLD, (OLD,)), (NEW, (NEW,)), ([OLD, NEW], (OLD, NEW)), ({OTHER, NEW}, (NEW,))):
        assert verify_checkpoint(rotated, trusted).verified_by == by
    with pytest.raises(CheckpointError, match="no signature by this key"):
        verify_checkpoint(plain, OLD)


@settings(max_examples=60, deadline=None)
@given(
    signers=st.lists(st.sampled_from(range(4)), min_size=1, max_size=4, unique=True),
    trusted=st.lists(st.sampled_from(range(4)), min_size=1, max_size=4, unique=True),
)
def test_a_note_verifies_iff_a_trusted_key_signed_it(signers: list[int], trusted: list[int]) -> None:
    text = note(*(SEEDS[n] for n in signers))
    keys = [KEYS[n] for n in trusted]
    expected = tuple(KEYS[n] for n in trusted if n in signers)
    if expected:
        assert verify_checkpoint(text, keys).verified_by == expected
    else:
        with pytest.raises(CheckpointError, match="no signature by"):
            verify_checkpoint(text, keys)


def test_the_cli_collects_every_sequencer_key() -> None:
    args = parser().parse_args(["verify", "b.json", "--sequencer-key", OLD.hex(), "--sequencer-key", "0x" + NEW.hex()])
    assert args.sequencer_key == [OLD, NEW]
    assert parser().parse_args(["verify", "b.json", "--sequencer-key", OLD.hex()]).sequencer_key == [OLD]
