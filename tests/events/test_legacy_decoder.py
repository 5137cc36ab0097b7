"""The typed decoder of legacy ingest bodies only ever accepts: for any body, either it hands
the body to the general parser (``None``), or the general parser reads the same body to the
same events, or both raise the same problem. Typical bodies take the typed path."""

from __future__ import annotations

import json
import uuid
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from events.envelopes import LegacyEvent, LegacyIngestRequest, parse_legacy_request
from events.legacy_decoder import decode_legacy_body
from sequencer_project.api.errors import SequencerError
from sequencer_project.api.parsers import loads

TENANT = "00000000-0000-0000-0000-000000000001"
STORE = "00000000-0000-0000-0000-0000000000a1"
AGENT = "99999999-8888-4777-8666-555555555555"
LIMITS: dict[str, Any] = {"max_events": 5, "max_payload_bytes": 400}


def _event(**fields: Any) -> dict[str, Any]:
    event = {
        "event_id": str(uuid.uuid4()),
        "tenant_id": TENANT,
        "store_id": STORE,
        "entity_type": "order",
        "entity_id": "order-1",
        "event_type": "order.created",
        "payload": {"total": 42},
        "created_at": "2026-01-01T00:00:00Z",
    }
    event.update(fields)
    return event


def _outcome(read: Any) -> tuple[str, Any]:
    try:
        return "ok", read()
    except SequencerError as exc:
        return "error", (type(exc), exc.detail, exc.errors, exc.extensions)


def _general(body: bytes, default_agent: uuid.UUID | None) -> LegacyIngestRequest:
    return parse_legacy_request(loads(body, allow_nul=True), **LIMITS, default_agent=default_agent)


def _fields(event: LegacyEvent) -> dict[str, Any]:
    values = {name: getattr(event, name) for name in LegacyEvent.__dataclass_fields__ if name != "source"}
    values["raw"] = event.raw
    return values


def _assert_same(body: bytes, default_agent: uuid.UUID | None = None) -> bool:
    """Whether the typed path took ``body``; asserts it agrees with the general parser."""
    typed_kind, typed = _outcome(lambda: decode_legacy_body(body, **LIMITS, default_agent=default_agent))
    if typed_kind == "ok" and typed is None:
        return False
    general_kind, general = _outcome(lambda: _general(body, default_agent))
    assert typed_kind == general_kind, (body, typed, general)
    if typed_kind == "error":
        assert typed == general
        return True
    assert (typed.agent_id, typed.tenant_id, typed.store_id) == (general.agent_id, general.tenant_id, general.store_id)
    assert [_fields(e) for e in typed.events] == [_fields(e) for e in general.events]
    return True


def test_typical_bodies_take_the_typed_path_and_parse_the_same() -> None:
    reference_k6 = {"agent_id": AGENT, "events": [_event()]}  # the reference's load script
    full = _event(
        command_id=str(uuid.uuid4()),
        envelope_version=2,
        base_version=0,
        source_agent=AGENT,
        payload_hash="00" * 32,
        signature=[1, 2, 255],
        sequence_number=None,
        created_at="2026-01-01T01:00:00.123456+01:00",
    )
    batch = {"events": [_event(entity_id=f"order-{i}") for i in range(5)]}
    for body in (reference_k6, {"agent_id": AGENT, "events": [full]}, batch, {"events": [_event(signature="0aff")]}):
        assert _assert_same(orjson.dumps(body)), body


@pytest.mark.parametrize(
    "body",
    [
        b'{"events":[]}',
        orjson.dumps({"events": [_event(unknown=1)]}),  # a member it does not model
        orjson.dumps({"events": [_event(entity_type="t\u0000")]}),  # NUL
        orjson.dumps({"events": [_event(payload={"a": "\u0000"})]}),  # NUL in a payload: rejected per event
        orjson.dumps({"events": [_event(tenant_id="{" + TENANT + "}")]}),  # a UUID form only Python reads
        orjson.dumps({"events": [_event(), _event(store_id=TENANT)]}),  # two streams
        orjson.dumps({"events": [_event(created_at="2026-01-01")]}),
        orjson.dumps({"events": [_event(envelope_version=None)]}),
        orjson.dumps({"agent_id": AGENT, "events": [_event(source_agent=TENANT)]}),  # not the request's agent
        orjson.dumps({"events": [_event(payload_hash="0" * 63)]}),
        orjson.dumps({"events": [_event(sequence_number=[[1]])]}),
        orjson.dumps({"events": [_event()], "note": "a member it does not model"}),
        orjson.dumps({"events": [_event(payload=[[[]]] * 2)] * 6}),  # too many events
        b'{"events":[' + orjson.dumps(_event())[:-1] + b',"payload":' + b"[" * 70 + b"]" * 70 + b"}]}",
        b'{"events":[' + orjson.dumps(_event())[:-1] + b',"payload":1e400}]}',
    ],
)
def test_bodies_it_does_not_take_whole_go_to_the_general_parser(body: bytes) -> None:
    assert not _assert_same(body)


def test_an_event_error_is_the_general_parsers_error() -> None:
    body = orjson.dumps({"events": [_event(payload={"note": "x" * 500})]})  # over max_payload_bytes
    assert _assert_same(body)


_UUIDS = st.one_of(
    st.uuids().map(str),
    st.uuids().map(lambda u: str(u).upper()),
    st.uuids().map(lambda u: u.hex),
    st.sampled_from(["", "not-a-uuid", "{" + TENANT + "}", "urn:uuid:" + TENANT, TENANT + " "]),
    st.integers(),
    st.none(),
)
_TEXT = st.one_of(st.text(max_size=6), st.text(min_size=125, max_size=130), st.integers(), st.none())
_TIMES = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "2026-01-01T00:00:00Z",
            "2026-01-01t00:00:00z",
            "2026-01-01 00:00:00+00:00",
            "2026-01-01",
            "0001-01-01T00:00:00+01:00",
        ]
    ),
    st.text(max_size=25),
    st.integers(),
)
_DEEP = st.integers(min_value=58, max_value=64).map(lambda depth: orjson.loads(b"[" * depth + b"]" * depth))
_JSON = (
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=8),
        lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
        max_leaves=12,
    )
    | _DEEP
)
_INTS = st.one_of(
    st.integers(min_value=-2, max_value=2**64),
    st.booleans(),
    st.floats(allow_nan=False),
    st.none(),
    st.text(max_size=2),
)
_OPTIONAL = {
    "command_id": _UUIDS,
    "envelope_version": _INTS,
    "base_version": _INTS,
    "source_agent": st.one_of(st.just(AGENT), st.uuids().map(str), _UUIDS),
    "payload_hash": st.one_of(st.text("0123456789abcdefABCDEF", min_size=63, max_size=65), st.integers(), st.none()),
    "signature": st.one_of(
        st.lists(st.integers(min_value=-1, max_value=256), max_size=4), st.text("0123456789abcdefxy", max_size=6), _JSON
    ),
    "sequence_number": _INTS | _DEEP,
    "extra": _JSON,
}


@st.composite
def _events(draw: st.DrawFn, change_percent: int) -> dict[str, Any]:
    """A valid event, each member changed, dropped or added with ``change_percent`` % chance."""
    body_event = _event()
    for name, values in (
        ("event_id", _UUIDS),
        ("tenant_id", st.one_of(st.just(TENANT), _UUIDS)),
        ("store_id", st.one_of(st.just(STORE), _UUIDS)),
        ("entity_type", _TEXT),
        ("entity_id", _TEXT),
        ("event_type", _TEXT),
        ("created_at", _TIMES),
        ("payload", _JSON),
    ):
        if draw(st.integers(0, 99)) < change_percent:
            if draw(st.booleans()):
                body_event[name] = draw(values)
            else:
                del body_event[name]
    for name, values in _OPTIONAL.items():
        if draw(st.integers(0, 99)) < change_percent:
            body_event[name] = draw(values)
    return body_event


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=st.sampled_from([0, 3, 10, 30]).flatmap(lambda percent: st.lists(_events(percent), max_size=6)),
    agent=st.one_of(st.none(), st.just(AGENT), st.uuids().map(str), _UUIDS),
    default_agent=st.one_of(st.none(), st.just(uuid.UUID(AGENT))),
    top_extra=st.one_of(st.none(), _JSON),
    ensure_ascii=st.booleans(),
)
def test_any_body_parses_the_same_on_either_path(
    events: list[dict[str, Any]], agent: Any, default_agent: uuid.UUID | None, top_extra: Any, ensure_ascii: bool
) -> None:
    body: dict[str, Any] = {"events": events}
    if agent is not None:
        body["agent_id"] = agent
    if top_extra is not None:
        body["note"] = top_extra
    text = json.dumps(body, ensure_ascii=ensure_ascii)  # json: integers beyond 64 bits too
    took = _assert_same(text.encode(), default_agent)
    event("typed path" if took else "general parser")
