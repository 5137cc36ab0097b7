"""Ingest reads UUIDs as every other endpoint does (``parse_uuid_text``): ASCII only.

``uuid.UUID`` alone also reads Arabic-Indic and other Unicode digits; ingest used it directly,
so 32 ARABIC-INDIC DIGIT ONEs (U+0661) were a valid event id there and a 400 everywhere else.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client
from hypothesis import example, given
from hypothesis import strategies as st

from events.envelopes import NOT_A_UUID, parse_legacy_request, uuid_field
from events.field_errors import FieldErrors
from events.ves_envelopes import parse_ves_request
from sequencer_project.api.errors import InvalidRequestError
from sequencer_project.api.fields import parse_uuid_text
from tests.conftest import IngestPoster, Persona, legacy_event
from tests.events.ves_helpers import post_ves

ARABIC_INDIC = "\u0661" * 32
TENANT, STORE, AGENT = uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3)

# Strings near a UUID: every form uuid.UUID reads (hyphens anywhere, braces, urn:uuid:, a sign or
# a space int() skips, underscores), with a digit swapped for a Unicode one now and then.
_NEAR = "0123456789abcdefABCDEF-{}:urnid _+" + "\u0661\u0662\u0660\u06f3\u06f4\u0966\u0967\u0663\uff13\uff14\U0001d7ce"
_uuids = st.uuids()
uuid_like = st.one_of(
    _uuids.map(str),
    _uuids.map(lambda u: u.hex),
    _uuids.map(lambda u: "{" + str(u) + "}"),
    _uuids.map(lambda u: u.urn),
    st.tuples(_uuids, st.integers(0, 35), st.sampled_from("\u0661\u0663\u06f4\u0966\uff13\U0001d7ce _+")).map(
        lambda t: str(t[0])[: t[1]] + t[2] + str(t[0])[t[1] + 1 :]
    ),
    st.text(alphabet=_NEAR, min_size=30, max_size=46),
    st.text(max_size=40),
)
not_strings: st.SearchStrategy[Any] = st.one_of(
    st.integers(), st.floats(), st.booleans(), st.lists(st.integers(), max_size=3), st.just({})
)


@given(st.one_of(uuid_like, not_strings), st.booleans())
@example(ARABIC_INDIC, False)
@example(ARABIC_INDIC, True)
@example("+" + "0" * 31, True)
@example("0" * 31 + "\u3000", False)
def test_the_ingest_uuid_reader_accepts_exactly_what_parse_uuid_text_accepts(value: Any, repeats: bool) -> None:
    errs = FieldErrors()

    parsed = uuid_field(value, "x", errs, required=True, repeats=repeats)

    assert parsed == parse_uuid_text(value)
    assert errs.items == ({} if parsed is not None else {"x": [NOT_A_UUID]})


@given(uuid_like)
@example(ARABIC_INDIC)
def test_legacy_and_ves_parsers_accept_exactly_what_parse_uuid_text_accepts(value: str) -> None:
    expected = parse_uuid_text(value)
    legacy = legacy_event(TENANT, STORE, event_id=value)
    ves = {
        "ves_version": 1,
        "event_id": str(uuid.uuid4()),
        "tenant_id": value,
        "store_id": str(STORE),
        "source_agent_id": str(AGENT),
        "agent_key_id": 1,
        "entity_type": "order",
        "entity_id": "o-1",
        "event_type": "order.created",
        "created_at": "2024-01-01T00:00:00Z",
        "payload_kind": 0,
        "payload_plain_hash": "00" * 32,
        "payload_cipher_hash": "00" * 32,
        "agent_signature": "00" * 64,
        "payload": {},
    }

    for parse, path in (
        (
            lambda: parse_legacy_request({"events": [legacy]}, max_events=10, max_payload_bytes=10_000),
            "events[0].event_id",
        ),
        (lambda: parse_ves_request({"agentId": str(AGENT), "events": [ves]}), "events[0].tenant_id"),
    ):
        if expected is None:
            with pytest.raises(InvalidRequestError) as raised:
                parse()
            assert raised.value.errors == {path: [NOT_A_UUID]}
        else:
            parse()


@pytest.mark.django_db
def test_legacy_ingest_refuses_a_uuid_in_arabic_indic_digits(owner: Persona, post_ingest: IngestPoster) -> None:
    event = legacy_event(owner.tenant_id, owner.store_id, event_id=ARABIC_INDIC)

    response = post_ingest(owner.client, {"events": [event]})

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "invalid_request"
    assert problem["errors"] == {"events[0].event_id": [NOT_A_UUID]}


@pytest.mark.django_db
def test_ves_ingest_refuses_a_uuid_in_arabic_indic_digits(owner: Persona) -> None:
    event = {"event_id": ARABIC_INDIC, "tenant_id": str(owner.tenant_id), "store_id": str(owner.store_id)}

    response = post_ves(owner.client, AGENT, [event])

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "invalid_request"
    assert problem["errors"]["events[0].event_id"] == [NOT_A_UUID]


@pytest.mark.django_db
def test_the_event_browser_refuses_a_tenant_id_in_arabic_indic_digits(staff_client: Client) -> None:
    page = staff_client.get(f"/admin/event-store/events/?tenant_id={ARABIC_INDIC}&store_id={uuid.uuid4()}")

    assert page.status_code == 200
    assert "tenant_id is not a UUID." in page.content.decode()
