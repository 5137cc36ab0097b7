"""Stable answers for stored rows that no longer agree with what was recorded of them, and for
malformed proof parameters and commitment ranges (docs/errors.md, docs/commitments.md, docs/ves.md).

Rows are tampered with in SQL: a VES payload (plain and encrypted), a VES or legacy row
renumbered after it was committed, a sealed legacy payload's ciphertext. Every answer is a
problem document whose ``status`` is the HTTP status; none is 500 ``internal_error``.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import orjson
import pytest
from django.db import connection
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from tests import wsgi
from tests.commitments.helpers import create, ingest_legacy_case, ingest_ves_case
from tests.conftest import IngestPoster, Persona, legacy_event
from tests.ves.ves_case_vectors import CASES

pytestmark = pytest.mark.django_db

SEED = bytes(range(32))
KEY_1 = "1:" + "11" * 32
# Case 1: eight events of one stream, payload kinds 0 and 1 (plain and encrypted).
CASE = CASES[1]
PLAIN = next(e for e in CASE["events"] if e["payload_kind"] == 0)
ENCRYPTED = next(e for e in CASE["events"] if e["payload_kind"] == 1)


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert (body["code"], body["status"]) == (code, status)
    return body


def _execute(sql: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        assert cursor.rowcount == 1


def _fresh_case() -> dict[str, Any]:
    """A copy of CASE (its events are signed over their ids, so it keeps them: each test runs in
    a transaction of its own, rolled back)."""
    return copy.deepcopy(CASE)


def _committed_ves(admin: APIClient) -> dict[str, Any]:
    case = _fresh_case()
    ingest_ves_case(admin, case)
    response = create(admin, "ves/", case["tenant_id"], case["store_id"], 1, len(case["events"]))
    assert response.status_code == 200, response.content
    return case


def _ves_read(admin: APIClient, case: dict[str, Any], event: dict[str, Any], suffix: str = "") -> Any:
    return admin.get(f"/api/v1/ves/events/{event['event_id']}{suffix}?tenant_id={case['tenant_id']}")


# --- VES payloads: the by-id read and the bundle recheck the recorded hash --------------------


@override_settings(VES_SEQUENCER_SIGNING_KEY=SEED.hex())
@pytest.mark.parametrize(
    ("event", "tamper"),
    [
        (PLAIN, "UPDATE ves_events SET payload = convert_to('{\"paid\":999}', 'UTF8')"),
        (PLAIN, "UPDATE ves_events SET payload = convert_to('not json', 'UTF8')"),
        (
            ENCRYPTED,
            'UPDATE ves_events SET payload_encrypted = payload_encrypted || \'{"tag_b64u": "AAAAAAAAAAAAAAAAAAAAAA"}\'',
        ),
        (ENCRYPTED, "UPDATE ves_events SET payload_encrypted = '{\"enc_version\": 1}'"),
    ],
    ids=["plain payload edited", "plain payload not JSON", "ciphertext tag edited", "structure broken"],
)
def test_a_tampered_ves_payload_is_payload_integrity_on_read_and_bundle(
    admin_client: APIClient, event: dict[str, Any], tamper: str
) -> None:
    case = _committed_ves(admin_client)
    assert _ves_read(admin_client, case, event).status_code == 200
    assert _ves_read(admin_client, case, event, "/bundle").status_code == 200

    _execute(f"{tamper} WHERE tenant_id = %s AND event_id = %s", [case["tenant_id"], event["event_id"]])

    for response in (_ves_read(admin_client, case, event), _ves_read(admin_client, case, event, "/bundle")):
        body = _problem(response, 500, "payload_integrity")
        assert case["tenant_id"] not in body["detail"]
    other = next(e for e in case["events"] if e["event_id"] != event["event_id"])
    assert _ves_read(admin_client, case, other).status_code == 200


# --- renumbered rows: the bundle answers the integrity code, not "not committed yet" ----------


@override_settings(VES_SEQUENCER_SIGNING_KEY=SEED.hex())
@pytest.mark.parametrize("new_sequence", [9, 1000])  # the stream's head is 8
def test_a_committed_ves_row_renumbered_is_commitment_integrity(admin_client: APIClient, new_sequence: int) -> None:
    case = _committed_ves(admin_client)
    event = case["events"][2]
    _execute(
        "UPDATE ves_events SET sequence_number = %s WHERE tenant_id = %s AND event_id = %s",
        [new_sequence, case["tenant_id"], event["event_id"]],
    )

    _problem(_ves_read(admin_client, case, event, "/bundle"), 500, "commitment_integrity")


@override_settings(VES_SEQUENCER_SIGNING_KEY=SEED.hex())
@pytest.mark.parametrize(
    ("mode", "code"),
    [("disabled", "commitment_integrity"), ("required", "payload_integrity")],
    ids=["plain payloads", "sealed payloads: the sequence number is in the payload's AAD"],
)
@pytest.mark.parametrize("new_sequence", [9, 1000])
def test_a_committed_legacy_row_renumbered_is_an_integrity_error(
    admin_client: APIClient, new_sequence: int, mode: str, code: str
) -> None:
    case = {**CASE, "tenant_id": str(uuid.uuid4()), "store_id": str(uuid.uuid4())}
    case["events"] = [{**e, "event_id": str(uuid.uuid4())} for e in CASE["events"]]
    with override_settings(PAYLOAD_ENCRYPTION_MODE=mode, PAYLOAD_ENCRYPTION_KEYS=KEY_1):
        ingest_legacy_case(admin_client, case)
        assert create(admin_client, "", case["tenant_id"], case["store_id"], 1, 8).status_code == 200
        event = case["events"][3]
        _execute(
            "UPDATE events SET sequence_number = %s WHERE tenant_id = %s AND event_id = %s",
            [new_sequence, case["tenant_id"], event["event_id"]],
        )

        response = admin_client.get(f"/api/v1/events/{event['event_id']}/bundle?tenant_id={case['tenant_id']}")
        _problem(response, 500, code)


@override_settings(VES_SEQUENCER_SIGNING_KEY=SEED.hex())
def test_an_event_not_committed_yet_is_still_409(admin_client: APIClient) -> None:
    case = _fresh_case()
    ingest_ves_case(admin_client, case)
    assert create(admin_client, "ves/", case["tenant_id"], case["store_id"], 1, 4).status_code == 200

    _problem(_ves_read(admin_client, case, case["events"][6], "/bundle"), 409, "event_not_committed")
    assert _ves_read(admin_client, case, case["events"][1], "/bundle").status_code == 200


@override_settings(
    VES_SEQUENCER_SIGNING_KEY=SEED.hex(), PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=KEY_1
)
def test_a_tampered_sealed_legacy_payload_is_payload_integrity_in_its_bundle(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    events = [legacy_event(owner.tenant_id, owner.store_id) for _ in range(3)]
    assert post_ingest(owner.client, {"events": events}).status_code == 200
    assert create(owner.client, "", owner.tenant_id, owner.store_id, 1, 3).status_code == 200
    path = f"/api/v1/events/{events[1]['event_id']}/bundle"
    assert owner.client.get(path).status_code == 200

    _execute(
        "UPDATE events SET payload = set_byte(payload, 20, get_byte(payload, 20) # 1)"
        " WHERE tenant_id = %s AND store_id = %s AND sequence_number = 2",
        [owner.tenant_id, owner.store_id],
    )

    _problem(owner.client.get(path), 500, "payload_integrity")


# --- consistency proofs: ``first`` is required, ``second`` is optional ------------------------


def _log_get(persona: Persona, prefix: str, query: str) -> Any:
    stream = f"tenant_id={persona.tenant_id}&store_id={persona.store_id}"
    path = f"/api/v1/{prefix}log/proofs/consistency"
    drf = persona.client.get(f"{path}?{stream}{query}")
    served: Any = wsgi.call("GET", path, query=f"{stream}{query}", HTTP_AUTHORIZATION=f"ApiKey {persona.key}")
    assert (served.status_code, served.json()) == (drf.status_code, {**drf.json(), **_instance(served)})
    return drf


def _instance(response: Any) -> dict[str, Any]:
    """The request id a problem carries (it differs between two requests)."""
    body = response.json()
    return {"instance": body["instance"]} if "instance" in body else {}


@override_settings(VES_SEQUENCER_SIGNING_KEY=SEED.hex())
@pytest.mark.parametrize("prefix", ["", "ves/"])  # the VES log of a legacy-only stream is empty
def test_consistency_proof_parameters(owner: Persona, post_ingest: IngestPoster, prefix: str) -> None:
    events = [legacy_event(owner.tenant_id, owner.store_id) for _ in range(4)]
    assert post_ingest(owner.client, {"events": events}).status_code == 200
    assert create(owner.client, "", owner.tenant_id, owner.store_id, 1, 2).status_code == 200
    assert create(owner.client, "", owner.tenant_id, owner.store_id, 3, 4).status_code == 200

    for query, name in [
        ("", "first"),
        ("&first=", "first"),
        ("&first=abc", "first"),
        ("&first=-1", "first"),
        ("&first=1.5", "first"),
        ("&first=1&second=abc", "second"),
        ("&first=1&second=-1", "second"),
        ("&second=4", "first"),
        ("&first=2&second=", "second"),  # given without a value: refused, not read as the latest
    ]:
        body = _problem(_log_get(owner, prefix, query), 400, "invalid_parameter")
        assert body["parameter"] == name, query

    if prefix:  # the VES log of this stream is empty: the parameters were checked first
        _problem(_log_get(owner, prefix, "&first=1"), 404, "checkpoint_not_found")
        return
    for query, (first, second) in [("&first=2", (2, 4)), ("&first=0&second=2", (0, 2))]:
        answer = _log_get(owner, prefix, query)
        assert answer.status_code == 200, answer.content
        assert (answer.json()["first"], answer.json()["second"]) == (first, second)
    _problem(_log_get(owner, prefix, "&first=1&second=5"), 400, "invalid_tree_size")


# --- commitment ranges: a negative bound is the range's own 400, a wrong type 422 --------------


def _create_raw(persona: Persona, prefix: str, start: Any, end: Any) -> Any:
    body = {"tenant_id": str(persona.tenant_id), "store_id": str(persona.store_id)}
    body |= {"sequence_start": start, "sequence_end": end}
    return persona.client.post(f"/api/v1/{prefix}commitments", data=orjson.dumps(body), content_type="application/json")


@pytest.mark.parametrize("prefix", ["", "ves/"])
@pytest.mark.parametrize(
    ("start", "end", "status", "code", "field"),
    [
        (-5, 3, 400, "invalid_commitment_range", "sequence_start"),
        (0, 3, 400, "invalid_commitment_range", "sequence_start"),
        (1, -1, 400, "invalid_commitment_range", "sequence_end"),
        (1, 0, 400, "invalid_commitment_range", "sequence_end"),
        (2**63, 2**63 + 1, 400, "invalid_commitment_range", "sequence_start"),
        (1, 2**64 - 1, 400, "invalid_commitment_range", "sequence_end"),
        (-(2**63), 1, 400, "invalid_commitment_range", "sequence_start"),
        (3, 2, 400, "invalid_commitment_range", None),
        ("1", 3, 422, "invalid_request", "sequence_start"),
        (1.0, 3, 422, "invalid_request", "sequence_start"),
        (True, 3, 422, "invalid_request", "sequence_start"),
        (None, 3, 422, "invalid_request", "sequence_start"),
        (1, [3], 422, "invalid_request", "sequence_end"),
        (1, 2.0**70, 422, "invalid_request", "sequence_end"),
    ],
)
def test_commitment_range_bounds(
    owner: Persona, prefix: str, start: Any, end: Any, status: int, code: str, field: str | None
) -> None:
    body = _problem(_create_raw(owner, prefix, start, end), status, code)
    if field is not None:
        assert list(body["errors"]) == [field]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    bound=st.sampled_from(["sequence_start", "sequence_end"]),
    value=st.integers(min_value=-(2**63), max_value=0) | st.integers(min_value=2**63, max_value=2**64 - 1),
)
def test_any_integer_bound_outside_the_range_is_invalid_commitment_range(
    owner: Persona, bound: str, value: int
) -> None:
    start, end = (value, 1) if bound == "sequence_start" else (1, value)
    body = _problem(_create_raw(owner, "", start, end), 400, "invalid_commitment_range")
    assert list(body["errors"]) == [bound]
    assert body["field"] == bound


# Without U+0000, which any body refuses first (400 invalid_field, docs/errors.md).
_TEXT = st.text(alphabet=st.characters(blacklist_characters="\x00"), max_size=5)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    value=st.one_of(
        _TEXT,
        st.floats(allow_nan=False, allow_infinity=False),
        st.booleans(),
        st.lists(st.integers(-(2**63), 2**63 - 1), max_size=2),
        st.dictionaries(_TEXT, st.integers(0, 9), max_size=2),
    )
)
def test_a_bound_of_another_json_type_is_invalid_request(owner: Persona, value: Any) -> None:
    _problem(_create_raw(owner, "ves/", value, 1), 422, "invalid_request")
