"""``ves.leaf_records``: bulk leaves from packed records equal the one-event leaf functions."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ves import legacy_merkle
from ves import merkle as ves_merkle
from ves.leaf_records import legacy_leaves, ves_leaves

TENANT, STORE = uuid.UUID(int=1), uuid.UUID(int=2)
NAMES = st.text(st.characters(codec="utf-8"), min_size=0, max_size=30)  # any encodable text


def _str(value: str) -> bytes:
    data = value.encode()
    return len(data).to_bytes(4, "big") + data


@settings(max_examples=60, deadline=None)
@given(
    first=st.integers(min_value=1, max_value=2**63),
    events=st.lists(st.tuples(st.binary(min_size=32, max_size=32), st.binary(min_size=64, max_size=64)), max_size=20),
)
def test_ves_records_give_ves_merkle_leaves(first: int, events: list[tuple[bytes, bytes]]) -> None:
    packed = b"".join((first + i).to_bytes(8, "big") + h + sig for i, (h, sig) in enumerate(events))
    expected = [
        ves_merkle.leaf_hash(
            tenant_id=TENANT, store_id=STORE, sequence_number=first + i, event_signing_hash=h, agent_signature=sig
        )
        for i, (h, sig) in enumerate(events)
    ]
    assert ves_leaves(tenant_id=TENANT, store_id=STORE, first=first, packed=packed) == expected


@settings(max_examples=60, deadline=None)
@given(
    first=st.integers(min_value=1, max_value=2**63),
    events=st.lists(st.tuples(st.binary(min_size=32, max_size=32), NAMES, NAMES), max_size=20),
)
def test_legacy_records_give_legacy_merkle_leaves(first: int, events: list[tuple[bytes, str, str]]) -> None:
    tails = [(first + i).to_bytes(8, "big") + h + _str(t) + _str(e) for i, (h, t, e) in enumerate(events)]
    packed = b"".join(len(tail).to_bytes(4, "big") + tail for tail in tails)
    expected = [
        legacy_merkle.leaf_hash(
            tenant_id=TENANT, store_id=STORE, sequence_number=first + i, payload_hash=h, entity_type=t, entity_id=e
        )
        for i, (h, t, e) in enumerate(events)
    ]
    assert legacy_leaves(tenant_id=TENANT, store_id=STORE, first=first, packed=packed) == expected


def test_hashing_stops_at_the_first_record_out_of_sequence() -> None:
    record = bytes(32) + bytes(64)
    packed = (1).to_bytes(8, "big") + record + (2).to_bytes(8, "big") + record + (4).to_bytes(8, "big") + record
    assert len(ves_leaves(tenant_id=TENANT, store_id=STORE, first=1, packed=packed)) == 2
    assert ves_leaves(tenant_id=TENANT, store_id=STORE, first=2, packed=packed) == []
    tail = (1).to_bytes(8, "big") + bytes(32) + _str("a") + _str("b")
    truncated = len(tail).to_bytes(4, "big") + tail[:-1]
    assert legacy_leaves(tenant_id=TENANT, store_id=STORE, first=1, packed=truncated) == []


def test_a_ves_record_stream_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="104 bytes"):
        ves_leaves(tenant_id=TENANT, store_id=STORE, first=1, packed=bytes(105))
