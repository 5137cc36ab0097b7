"""Projected entity states are sealed at rest like the payloads they merge (docs/encryption.md)."""

from __future__ import annotations

import uuid
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from events.payload_crypto import PayloadDecryptionError, keyring_for
from events.projections.entity_state import ENTITY_STATE
from events.projections.state_crypto import EntityKey, state_columns, state_open
from events.services.projections import projection_advance, projection_run_all
from tests.conftest import IngestPoster, Persona
from tests.events.projections.helpers import checkpoint_of, seed, state_answer, state_url

pytestmark = pytest.mark.django_db

KEY_1 = "1:" + "11" * 32
KEY_2 = "2:" + "22" * 32


def _project(persona: Persona) -> None:
    projection_advance(projection=ENTITY_STATE, tenant_id=persona.tenant_id, store_id=persona.store_id, batch_size=100)


def _stored(persona: Persona, entity_id: str = "order-1") -> tuple[Any, bytes | None, int | None]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT state::text, state_sealed, state_key_id FROM entity_state"
            " WHERE tenant_id = %s AND store_id = %s AND entity_type = 'order' AND entity_id = %s",
            [persona.tenant_id, persona.store_id, entity_id],
        )
        state, sealed, key_id = cursor.fetchone()
    return state, None if sealed is None else bytes(sealed), key_id


@override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=KEY_1)
def test_projected_states_are_sealed_at_rest_and_read_back_in_clear(owner: Persona, post_ingest: IngestPoster) -> None:
    seed(owner, post_ingest, [{"card": "4111-secret", "total": 1}, {"status": "paid"}])

    _project(owner)

    state, sealed, key_id = _stored(owner)
    assert state is None
    assert sealed is not None
    assert sealed.startswith(b"SSE1")
    assert b"secret" not in sealed
    assert b"paid" not in sealed
    assert key_id == 1
    assert state_answer(owner)["state"] == {"card": "4111-secret", "total": 1, "status": "paid"}


@override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=KEY_1)
def test_a_sealed_state_opens_only_for_its_own_entity() -> None:
    tenant, store = uuid.uuid4(), uuid.uuid4()
    entity = EntityKey(tenant, store, "order", "order-1")
    columns = state_columns(entity, {"total": 1}, keyring_for(tenant).newest)
    sealed = columns.sealed
    assert sealed is not None
    assert columns.state is None
    assert state_open(entity, None, sealed, columns.key_id) == {"total": 1}
    for other in (
        EntityKey(tenant, store, "order", "order-2"),
        EntityKey(tenant, uuid.uuid4(), "order", "order-1"),
        EntityKey(uuid.uuid4(), store, "order", "order-1"),
        EntityKey(tenant, store, "invoice", "order-1"),
    ):
        with pytest.raises(PayloadDecryptionError):
            state_open(other, None, sealed, columns.key_id)


def test_plain_states_are_read_and_sealed_by_their_entity_s_next_event(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    with override_settings(PAYLOAD_ENCRYPTION_MODE="disabled"):
        seed(owner, post_ingest, [{"total": 1}, {"lines": 2}])  # two events: a merged state, not a reference
        _project(owner)
        assert _stored(owner) == ('{"lines": 2, "total": 1}', None, None)

    with override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=KEY_1):
        assert state_answer(owner)["state"] == {"total": 1, "lines": 2}  # a plain state from before still reads
        seed(owner, post_ingest, [{"status": "paid"}])
        _project(owner)
        state, sealed, key_id = _stored(owner)
        assert (state, key_id) == (None, 1)
        assert sealed is not None
        assert state_answer(owner)["state"] == {"total": 1, "lines": 2, "status": "paid"}


def test_a_state_no_key_opens_stalls_its_stream_and_dead_letters_nothing(
    owner: Persona, outsider: Persona, post_ingest: IngestPoster
) -> None:
    with override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=KEY_1):
        seed(owner, post_ingest, [{"total": 1}, {"lines": 2}])
        _project(owner)
    with override_settings(PAYLOAD_ENCRYPTION_MODE="optional", PAYLOAD_ENCRYPTION_KEYS=""):
        seed(owner, post_ingest, [{"status": "paid"}])  # plain payload: only the state needs key 1
        seed(outsider, post_ingest, [{"total": 7}])  # advanced in the same transaction as owner's
        projection_run_all(batch_size=100, time_budget_seconds=10)
        assert checkpoint_of(ENTITY_STATE, owner.tenant_id, owner.store_id) == 2  # stalled, in order
        assert checkpoint_of(ENTITY_STATE, outsider.tenant_id, outsider.store_id) == 1  # not held back
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM projection_dead_letters WHERE tenant_id = %s", [owner.tenant_id])
            assert cursor.fetchone()[0] == 0
    with override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=KEY_1):  # the key is back
        projection_run_all(batch_size=100, time_budget_seconds=10)
        assert checkpoint_of(ENTITY_STATE, owner.tenant_id, owner.store_id) == 3
        assert state_answer(owner)["state"] == {"total": 1, "lines": 2, "status": "paid"}


@override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=KEY_1)
def test_reading_an_altered_state_is_payload_integrity_and_the_log_names_the_entity(
    owner: Persona, post_ingest: IngestPoster, caplog: pytest.LogCaptureFixture
) -> None:
    seed(owner, post_ingest, [{"total": 1}, {"lines": 2}])
    _project(owner)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE entity_state SET state_sealed = set_byte(state_sealed, length(state_sealed) - 1,"
            " get_byte(state_sealed, length(state_sealed) - 1) # 1)"
            " WHERE tenant_id = %s AND store_id = %s AND entity_id = 'order-1'",
            [owner.tenant_id, owner.store_id],
        )
    response = owner.client.get(state_url(owner))
    assert (response.status_code, response.json()["code"], response.json()["status"]) == (500, "payload_integrity", 500)
    assert "event" not in response.json()["detail"]
    logged = [r.getMessage() for r in caplog.records if "does not open" in r.getMessage()]
    assert logged, [r.getMessage() for r in caplog.records]
    assert f"state of tenant {owner.tenant_id} store {owner.store_id} entity 'order'/'order-1'" in logged[0]


@pytest.mark.django_db(transaction=True)
def test_rotation_reseals_states_so_the_old_key_can_be_retired(owner: Persona, post_ingest: IngestPoster) -> None:
    # Two events per entity: merged states (an entity of one event refers to it, ADR 0036).
    with override_settings(PAYLOAD_ENCRYPTION_MODE="disabled"):
        seed(owner, post_ingest, [{"plain": True}, {"x": None}], entity_id="order-plain")
        _project(owner)
    with override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=KEY_1):
        for n in range(5):
            seed(owner, post_ingest, [{"n": n}, {"x": None}], entity_id=f"order-{n}")
        seed(owner, post_ingest, [{"single": True}], entity_id="order-single")  # by reference: nothing to seal
        _project(owner)

    with override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=f"{KEY_2},{KEY_1}"):
        out = StringIO()
        call_command("reencrypt_payloads", tenant=str(owner.tenant_id), batch_size=2, key_deployed=True, stdout=out)
        lines = out.getvalue().splitlines()
        assert f"tenant {owner.tenant_id}: 6 entity states to re-encrypt with key 2" in lines
        assert lines[-1].startswith("done: 13 re-encrypted, 0 left; 6 entity states re-encrypted, 0 left;")

    with override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=KEY_2):  # old key retired
        assert state_answer(owner, "order-plain")["state"] == {"plain": True}
        assert [state_answer(owner, f"order-{n}")["state"] for n in range(5)] == [{"n": n} for n in range(5)]
        assert {_stored(owner, f"order-{n}")[2] for n in range(5)} == {2}
        assert state_answer(owner, "order-single")["state"] == {"single": True}  # its payload was re-encrypted
        assert _stored(owner, "order-single") == (None, None, None)
