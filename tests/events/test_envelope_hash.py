"""The legacy envelope hash: stored with every event and compared on replay, so its bytes are
fixed for good. Pinned for two envelopes, and equal to a separate struct-based formulation of
the documented preimage for any input."""

from __future__ import annotations

import hashlib
import struct
import uuid
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from events.envelopes import _envelope_hash, envelope_hash_prefix
from ves.encoding import str3_bytes

TENANT = uuid.UUID("00000000-0000-0000-0000-000000000001")
STORE = uuid.UUID("00000000-0000-0000-0000-000000000002")
EVENT = uuid.UUID("7f1b4a1e-5c3d-4e2f-9a8b-0c1d2e3f4a5b")
AGENT = uuid.UUID("99999999-8888-4777-8666-555555555555")
CREATED = datetime(2026, 12, 4, 18, 0, 0, 123456, tzinfo=UTC)


def test_the_envelope_hash_of_a_full_envelope_is_pinned() -> None:
    digest = _envelope_hash(
        envelope_hash_prefix(TENANT, STORE),
        EVENT,
        uuid.UUID("11111111-2222-4333-8444-555555555555"),
        1,
        str3_bytes("order", "order-é1", "order.created"),
        bytes(range(32)),
        7,
        AGENT,
        b"\x01\x02\x03",
        CREATED,
    )

    assert digest.hex() == "af497102c40044b4483acb6822788bf7c360bd71a5d8556f5f72898178ee1a39"


def test_the_envelope_hash_without_the_optional_fields_is_pinned() -> None:
    digest = _envelope_hash(
        envelope_hash_prefix(TENANT, STORE),
        EVENT,
        None,
        1,
        str3_bytes("order", "order-é1", "order.created"),
        bytes(range(32)),
        None,
        AGENT,
        None,
        CREATED,
    )

    assert digest.hex() == "1dd43008ce6012e7a624bc0ca668754784644974f89aafdc8dc644a419c3d59d"


def _reference(
    tenant: uuid.UUID,
    store: uuid.UUID,
    event: uuid.UUID,
    command: uuid.UUID | None,
    version: int,
    texts: tuple[str, str, str],
    payload_hash: bytes,
    base_version: int | None,
    agent: uuid.UUID,
    signature: bytes | None,
    created_at: datetime,
) -> bytes:
    parts = [b"SEQ_LEGACY_ENVELOPE_V1", tenant.bytes, store.bytes, event.bytes]
    parts.append(command.bytes if command else b"\x00" * 16)
    parts.append(struct.pack(">I", version))
    for text in texts:
        encoded = text.encode()
        parts += [struct.pack(">I", len(encoded)), encoded]
    parts.append(payload_hash)
    parts.append(b"\x00" if base_version is None else b"\x01" + struct.pack(">q", base_version))
    parts.append(agent.bytes)
    parts.append(b"\x00" if signature is None else b"\x01" + struct.pack(">I", len(signature)) + signature)
    parts.append(struct.pack(">q", int(created_at.timestamp() * 1_000_000)))
    return hashlib.sha256(b"".join(parts)).digest()


@given(
    ids=st.lists(st.uuids(), min_size=4, max_size=4),
    command=st.none() | st.uuids(),
    version=st.integers(1, 2**31 - 1),
    texts=st.tuples(st.text(min_size=1), st.text(min_size=1), st.text(min_size=1)),
    payload_hash=st.binary(min_size=32, max_size=32),
    base_version=st.none() | st.integers(0, 2**63 - 1),
    signature=st.none() | st.binary(max_size=80),
    created_at=st.datetimes(timezones=st.just(UTC)),
)
def test_the_envelope_hash_is_the_documented_preimage(
    ids: list[uuid.UUID],
    command: uuid.UUID | None,
    version: int,
    texts: tuple[str, str, str],
    payload_hash: bytes,
    base_version: int | None,
    signature: bytes | None,
    created_at: datetime,
) -> None:
    tenant, store, event, agent = ids
    expected = _reference(
        tenant, store, event, command, version, texts, payload_hash, base_version, agent, signature, created_at
    )

    digest = _envelope_hash(
        envelope_hash_prefix(tenant, store),
        event,
        command,
        version,
        str3_bytes(*texts),
        payload_hash,
        base_version,
        agent,
        signature,
        created_at,
    )

    assert digest == expected
