"""A stored legacy payload that cannot be opened: a stable 500 ``payload_integrity`` on every read
path (DRF views and the WSGI endpoints), the row named in the log without a traceback, and a
projection that dead-letters an altered payload but stalls on a missing key (docs/errors.md,
docs/projections.md).

Rows are tampered with in SQL, as an attacker or a broken restore would: a ciphertext byte, a
field the payload's associated data binds (``entity_id``), the format byte.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings

from events.models import ProjectionDeadLetter
from events.projections.entity_state import ENTITY_STATE
from events.projections.registry import UnreadablePayloadError
from events.services.dead_letters import dead_letter_retry
from events.services.projections import projection_advance, projection_run_all
from sequencer_project import wsgi as _served_application  # noqa: F401 - imported (logging set up) before caplog
from tests import wsgi
from tests.conftest import IngestPoster, Persona
from tests.events.projections.helpers import checkpoint_of, seed

pytestmark = pytest.mark.django_db

KEY_1 = "1:" + "11" * 32
KEY_2 = "2:" + "22" * 32
SEALED = {"PAYLOAD_ENCRYPTION_MODE": "required", "PAYLOAD_ENCRYPTION_KEYS": KEY_1}


def _execute(sql: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _flip_ciphertext_byte(persona: Persona, seq: int) -> None:
    # Byte 20 lies in the ciphertext ("SSE1" + 12-byte nonce = 16 bytes before it).
    _execute(
        "UPDATE events SET payload = set_byte(payload, 20, get_byte(payload, 20) # 1)"
        " WHERE tenant_id = %s AND store_id = %s AND sequence_number = %s",
        [persona.tenant_id, persona.store_id, seq],
    )


def _change_entity_id(persona: Persona, seq: int) -> None:
    _execute(
        "UPDATE events SET entity_id = 'order-moved' WHERE tenant_id = %s AND store_id = %s AND sequence_number = %s",
        [persona.tenant_id, persona.store_id, seq],
    )


def _truncate_blob(persona: Persona, seq: int) -> None:
    _execute(
        "UPDATE events SET payload = substring(payload FROM 1 FOR 10)"
        " WHERE tenant_id = %s AND store_id = %s AND sequence_number = %s",
        [persona.tenant_id, persona.store_id, seq],
    )


TAMPERS: dict[str, Callable[[Persona, int], None]] = {
    "ciphertext byte": _flip_ciphertext_byte,
    "entity_id (bound by the AAD)": _change_entity_id,
    "blob cut short": _truncate_blob,
}


def _stored(persona: Persona, seq: int) -> tuple[str, str]:
    """The event id and entity id of the row at ``seq``, as the database now holds them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT event_id, entity_id FROM events WHERE tenant_id = %s AND store_id = %s AND sequence_number = %s",
            [persona.tenant_id, persona.store_id, seq],
        )
        event_id, entity_id = cursor.fetchone()
    return str(event_id), entity_id


def _event_id(persona: Persona, seq: int) -> str:
    return _stored(persona, seq)[0]


def _reads(persona: Persona, seq: int) -> list[tuple[str, str]]:
    """``(path, query)`` of every legacy read that opens the payload at ``seq``."""
    stream = f"tenant_id={persona.tenant_id}&store_id={persona.store_id}"
    return [
        (f"/api/v1/events/{_event_id(persona, seq)}", ""),
        ("/api/v1/events", f"{stream}&from=1&limit=100"),
        (f"/api/v1/entities/order/{_stored(persona, seq)[1]}", stream),
    ]


def _assert_integrity_problem(response: Any, persona: Persona) -> None:
    assert response.status_code == 500, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "payload_integrity"
    assert body["status"] == 500
    assert body["type"].endswith("/payload_integrity")
    # Nothing internal reaches the client: no row identity, no key id.
    assert str(persona.tenant_id) not in body["detail"]
    assert "key id" not in body["detail"]


def _answers(persona: Persona, path: str, query: str) -> list[Any]:
    """The same read through the test client (DRF) and the WSGI application gunicorn serves."""
    drf = persona.client.get(f"{path}?{query}" if query else path)
    served = wsgi.call("GET", path, query=query, HTTP_AUTHORIZATION=f"ApiKey {persona.key}")
    return [drf, served]


def _integrity_logs(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "payload_integrity" in r.getMessage()]


@pytest.mark.parametrize("tamper", list(TAMPERS), ids=list(TAMPERS))
def test_a_tampered_payload_is_a_stable_500_on_every_read_naming_the_row_in_the_log(
    owner: Persona, post_ingest: IngestPoster, caplog: pytest.LogCaptureFixture, tamper: str
) -> None:
    with override_settings(**SEALED):
        seed(owner, post_ingest, [{"total": 1}, {"status": "paid"}, {"n": 3}])
        TAMPERS[tamper](owner, 2)
        caplog.set_level(logging.WARNING)
        for path, query in _reads(owner, 2):
            for response in _answers(owner, path, query):
                _assert_integrity_problem(response, owner)

    logged = _integrity_logs(caplog)
    assert logged, [r.getMessage() for r in caplog.records]
    for record in logged:
        message = record.getMessage()
        assert record.exc_info is None  # one line, no traceback
        assert f"tenant {owner.tenant_id} store {owner.store_id} sequence 2" in message
        assert "key id 1" in message  # the key the row records, not "None"
        assert "altered" in message or "not an SSE1 blob" in message
    assert not [r for r in caplog.records if "unhandled error" in r.getMessage()]


def test_a_payload_whose_key_left_the_ring_is_the_same_500_and_the_log_says_so(
    owner: Persona, post_ingest: IngestPoster, caplog: pytest.LogCaptureFixture
) -> None:
    with override_settings(**SEALED):
        seed(owner, post_ingest, [{"total": 1}])
    caplog.set_level(logging.WARNING)
    with override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=KEY_2):
        for path, query in _reads(owner, 1):
            for response in _answers(owner, path, query):
                _assert_integrity_problem(response, owner)
    messages = [r.getMessage() for r in _integrity_logs(caplog)]
    assert messages
    assert all("key id 1: that key is not in the tenant's keyring" in m for m in messages), messages


def test_untouched_rows_of_a_stream_with_a_tampered_one_still_read(owner: Persona, post_ingest: IngestPoster) -> None:
    with override_settings(**SEALED):
        seed(owner, post_ingest, [{"total": 1}, {"status": "paid"}, {"n": 3}])
        _flip_ciphertext_byte(owner, 2)
        stream = f"tenant_id={owner.tenant_id}&store_id={owner.store_id}"
        first = owner.client.get(f"/api/v1/events/{_event_id(owner, 1)}")
        assert first.status_code == 200
        assert first.json()["envelope"]["payload"] == {"total": 1}
        after = owner.client.get(f"/api/v1/events?{stream}&from=3")
        assert after.status_code == 200
        assert [e["envelope"]["payload"] for e in after.json()["events"]] == [{"n": 3}]


def _dead_letters(persona: Persona) -> list[ProjectionDeadLetter]:
    return list(
        ProjectionDeadLetter.objects.filter(tenant_id=persona.tenant_id, store_id=persona.store_id).order_by(
            "sequence_number"
        )
    )


@pytest.mark.parametrize("tamper", ["ciphertext byte", "blob cut short"])
def test_the_projection_dead_letters_an_altered_payload_and_goes_on(
    owner: Persona, post_ingest: IngestPoster, tamper: str
) -> None:
    with override_settings(**SEALED):
        seed(owner, post_ingest, [{"total": 1}, {"status": "paid"}, {"n": 3}])
        TAMPERS[tamper](owner, 2)

        result = projection_advance(
            projection=ENTITY_STATE, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=100
        )

        assert (result.applied, result.dead_lettered, result.checkpoint) == (2, 1, 3)
        [entry] = _dead_letters(owner)
        assert entry.sequence_number == 2
        assert entry.error_class == f"{UnreadablePayloadError.__module__}.{UnreadablePayloadError.__qualname__}"
        assert f"sequence 2 (event {_event_id(owner, 2)}), key id 1" in entry.error_message
        url = f"/api/v1/entities/order/order-1/state?tenant_id={owner.tenant_id}&store_id={owner.store_id}"
        assert owner.client.get(url).json()["state"] == {"total": 1, "n": 3}

        # A retry meets the same row: an attempt counted, the worker does not crash.
        outcome = dead_letter_retry(tenant_id=owner.tenant_id, dead_letter_id=entry.id, actor="test")
        assert not outcome.succeeded
        assert outcome.entry.attempts == 2


def test_an_entity_state_referring_to_an_altered_payload_dead_letters_it_at_the_entitys_next_event(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    with override_settings(**SEALED):
        seed(owner, post_ingest, [{"total": 1}], entity_id="order-1")
        seed(owner, post_ingest, [{"total": 2}], entity_id="order-2")
        projection_run_all(batch_size=100, time_budget_seconds=30)  # both stored by reference (ADR 0036)
        _flip_ciphertext_byte(owner, 1)
        state_url = f"/api/v1/entities/order/order-1/state?tenant_id={owner.tenant_id}&store_id={owner.store_id}"
        _assert_integrity_problem(owner.client.get(state_url), owner)

        seed(owner, post_ingest, [{"status": "paid"}], entity_id="order-1")
        seed(owner, post_ingest, [{"status": "sent"}], entity_id="order-2")
        projection_run_all(batch_size=100, time_budget_seconds=30)

        assert checkpoint_of(ENTITY_STATE, owner.tenant_id, owner.store_id) == 4  # not stalled
        [entry] = _dead_letters(owner)
        assert entry.sequence_number == 1  # the altered event the state referred to (ADR 0049)
        assert f"sequence 1 (event {_event_id(owner, 1)}), key id 1" in entry.error_message
        first = owner.client.get(state_url).json()
        assert (first["state"], first["version"], first["last_sequence"]) == ({"status": "paid"}, 1, 3)
        other = f"/api/v1/entities/order/order-2/state?tenant_id={owner.tenant_id}&store_id={owner.store_id}"
        assert owner.client.get(other).json()["state"] == {"total": 2, "status": "sent"}

        # Its retry meets the same altered payload: an attempt counted, the state kept.
        outcome = dead_letter_retry(tenant_id=owner.tenant_id, dead_letter_id=entry.id, actor="test")
        assert not outcome.succeeded
        assert outcome.entry.attempts == 2
        assert owner.client.get(state_url).json()["state"] == {"status": "paid"}


def test_a_key_missing_from_the_ring_still_stalls_the_stream_and_dead_letters_nothing(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    with override_settings(**SEALED):
        seed(owner, post_ingest, [{"total": 1}, {"status": "paid"}])
    with override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=KEY_2):
        projection_run_all(batch_size=100, time_budget_seconds=30)
        assert checkpoint_of(ENTITY_STATE, owner.tenant_id, owner.store_id) == 0
        assert _dead_letters(owner) == []
    with override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=f"{KEY_2},{KEY_1}"):
        projection_run_all(batch_size=100, time_budget_seconds=30)  # the key is back
        assert checkpoint_of(ENTITY_STATE, owner.tenant_id, owner.store_id) == 2
