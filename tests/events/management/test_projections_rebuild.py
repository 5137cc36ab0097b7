"""``manage.py projections_rebuild`` on real PostgreSQL: the rebuilt state is the incremental one."""

from __future__ import annotations

import dataclasses
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings

from audit.models import AuditLogEntry
from events.models import DeadLetterStatus, ProjectionDeadLetter
from events.projections.entity_state import ENTITY_STATE
from events.services.projections import projection_advance
from tests.conftest import IngestPoster, Persona
from tests.events.projections.helpers import PoisonProjection, checkpoint_of, entity_rows, seed

pytestmark = pytest.mark.django_db


def _project(persona: Persona, projection: str, batch_size: int) -> None:
    """The runner's incremental path: small batches until caught up."""
    while True:
        result = projection_advance(
            projection=projection, tenant_id=persona.tenant_id, store_id=persona.store_id, batch_size=batch_size
        )
        if result.applied + result.dead_lettered < batch_size:
            return


def _rebuild(persona: Persona, *extra: str) -> str:
    out = StringIO()
    call_command(
        "projections_rebuild", "--tenant", str(persona.tenant_id), "--store", str(persona.store_id), *extra, stdout=out
    )
    return out.getvalue()


def test_the_rebuilt_state_equals_the_incrementally_projected_one(
    owner: Persona, outsider: Persona, post_ingest: IngestPoster
) -> None:
    seed(owner, post_ingest, [{"n": i, f"k{i % 3}": i, "lines": [i]} for i in range(17)], entity_id="a")
    seed(owner, post_ingest, [{"status": "new"}, {"status": "paid", "total": 3}], entity_id="b")
    seed(outsider, post_ingest, [{"x": 1}, {"y": 2}])
    _project(owner, ENTITY_STATE, batch_size=3)
    _project(outsider, ENTITY_STATE, batch_size=3)
    incremental = entity_rows(owner.tenant_id, owner.store_id)
    outsiders = entity_rows(outsider.tenant_id, outsider.store_id)
    with connection.cursor() as cursor:  # the bug the rebuild repairs: a wrong state, an entity lost
        cursor.execute(
            "UPDATE entity_state SET state = '{}', state_sealed = NULL, state_key_id = NULL"
            " WHERE tenant_id = %s AND entity_id = 'a'",
            [owner.tenant_id],
        )
        cursor.execute("DELETE FROM entity_state WHERE tenant_id = %s AND entity_id = 'b'", [owner.tenant_id])

    output = _rebuild(owner, "--projection", ENTITY_STATE, "--batch-size", "5")

    assert f"{ENTITY_STATE} on {owner.tenant_id}/{owner.store_id}: rebuilt to #19, 19 applied" in output
    assert entity_rows(owner.tenant_id, owner.store_id) == incremental
    assert checkpoint_of(ENTITY_STATE, owner.tenant_id, owner.store_id) == 19
    assert entity_rows(outsider.tenant_id, outsider.store_id) == outsiders  # another tenant is untouched


def test_a_rebuild_after_the_fix_applies_dead_lettered_events_once_and_closes_their_entries(
    owner: Persona, post_ingest: IngestPoster, poison: PoisonProjection
) -> None:
    seed(owner, post_ingest, [{"a": 1}, {"poison": True, "b": 2}, {"c": 3}])
    _project(owner, poison.name, batch_size=10)
    assert ProjectionDeadLetter.objects.get(tenant_id=owner.tenant_id, projection=poison.name).status == (
        DeadLetterStatus.PENDING
    )
    poison.cured = True  # the fix is deployed

    _rebuild(owner, "--projection", poison.name)

    entry = ProjectionDeadLetter.objects.get(tenant_id=owner.tenant_id, projection=poison.name)
    assert entry.status == DeadLetterStatus.RESOLVED
    [row] = AuditLogEntry.objects.filter(action="projection.rebuild", tenant_id=owner.tenant_id)
    assert row.actor == "cli:projections_rebuild"
    assert row.target_id == f"{poison.name}:{owner.store_id}"
    assert row.detail == {
        "dead_letters_closed": 1,
        "applied": 3,
        "dead_lettered": 0,
        "left_discarded": 0,
        "checkpoint": 3,
    }
    version, *_, state = entity_rows(owner.tenant_id, owner.store_id)[("order", "order-1")]
    assert version == 3
    assert state == '{"a": 1, "b": 2, "c": 3, "poison": true}'


def test_a_discarded_event_that_fails_again_is_said_to_stay_discarded_and_a_new_failure_is_dead_lettered(
    owner: Persona, post_ingest: IngestPoster, poison: PoisonProjection
) -> None:
    seed(owner, post_ingest, [{"poison": True}, {"a": 1}])
    _project(owner, poison.name, batch_size=10)
    entry = ProjectionDeadLetter.objects.get(tenant_id=owner.tenant_id, projection=poison.name)
    ProjectionDeadLetter.objects.filter(id=entry.id).update(status=DeadLetterStatus.DISCARDED)
    seed(owner, post_ingest, [{"poison": True}])  # sequence 3 fails too, for the first time

    output = _rebuild(owner, "--projection", poison.name)

    assert "rebuilt to #3, 1 applied, 1 dead-lettered, 1 failed and left discarded" in output, output
    statuses = dict(
        ProjectionDeadLetter.objects.filter(tenant_id=owner.tenant_id, projection=poison.name).values_list(
            "sequence_number", "status"
        )
    )
    assert statuses == {1: DeadLetterStatus.DISCARDED, 3: DeadLetterStatus.PENDING}
    [row] = AuditLogEntry.objects.filter(action="projection.rebuild", tenant_id=owner.tenant_id)
    assert (row.detail["dead_lettered"], row.detail["left_discarded"]) == (2, 1)


def test_every_registered_projection_is_rebuilt_by_default_and_unknown_names_are_refused(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    seed(owner, post_ingest, [{"a": 1}])

    assert f"{ENTITY_STATE} on " in _rebuild(owner)
    assert _rebuild(owner, "--projection", ENTITY_STATE, "--projection", ENTITY_STATE).count(f"{ENTITY_STATE} on ") == 1
    assert AuditLogEntry.objects.filter(action="projection.rebuild").count() == 2  # one a rebuild, not three
    with pytest.raises(CommandError, match="nope"):
        _rebuild(owner, "--projection", "nope")


def test_a_stream_never_written_is_refused_and_nothing_is_recorded(owner: Persona, post_ingest: IngestPoster) -> None:
    seed(owner, post_ingest, [{"a": 1}])
    mistyped = dataclasses.replace(owner, store_id=uuid.uuid4())  # a store id with one digit wrong

    with pytest.raises(CommandError, match="No event was ever written"):
        _rebuild(mistyped)

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM projection_checkpoints WHERE store_id = %s", [mistyped.store_id])
        assert cursor.fetchone() == (0,)
    assert not AuditLogEntry.objects.filter(action="projection.rebuild").exists()


def test_a_state_sealed_with_a_key_missing_from_the_ring_is_a_clear_refusal_and_nothing_changes(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    sealed_with_1 = {"PAYLOAD_ENCRYPTION_MODE": "required", "PAYLOAD_ENCRYPTION_KEYS": "1:" + "11" * 32}
    with override_settings(**sealed_with_1):
        seed(owner, post_ingest, [{"a": 1}, {"b": 2}])
        _project(owner, ENTITY_STATE, 100)
        before = entity_rows(owner.tenant_id, owner.store_id)

    other_ring = override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS="2:" + "22" * 32)
    with other_ring, pytest.raises(CommandError) as refused:
        _rebuild(owner)

    said = str(refused.value)
    assert said.startswith(
        f"entity_state on {owner.tenant_id}/{owner.store_id} was not rebuilt (nothing of it changed)"
    )
    assert "key id 1" in said, said
    with override_settings(**sealed_with_1):
        assert entity_rows(owner.tenant_id, owner.store_id) == before
    assert not AuditLogEntry.objects.filter(action="projection.rebuild").exists()


def test_a_long_replay_says_how_far_it_is(
    owner: Persona, post_ingest: IngestPoster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild of a million events takes minutes: the command prints its position as it goes
    (here after every batch: the interval set to 0), never past the head, then its summary."""
    from events.management.commands import projections_rebuild

    monkeypatch.setattr(projections_rebuild, "PROGRESS_SECONDS", 0.0)
    seed(owner, post_ingest, [{"n": i} for i in range(7)])
    replay = f"{ENTITY_STATE} on {owner.tenant_id}/{owner.store_id}"

    lines = _rebuild(owner, "--projection", ENTITY_STATE, "--batch-size", "3").splitlines()

    assert lines == [
        f"{replay}: 3 of 7 events replayed (42 %)",
        f"{replay}: 6 of 7 events replayed (85 %)",
        f"{replay}: rebuilt to #7, 7 applied, 0 dead-lettered",
    ]
