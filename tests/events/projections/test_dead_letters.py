"""Dead letters: backoff schedule, parking after N attempts, retry-now, discard, audit rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditLogEntry
from events.models import DeadLetterStatus, ProjectionDeadLetter
from events.projections.selectors import dead_letter_open_count
from events.services.dead_letters import dead_letter_discard, dead_letter_retry, dead_letter_retry_due
from events.services.projections import dead_letter_backoff, projection_advance, projection_rebuild
from sequencer_project.api.errors import DeadLetterClosedError
from tests.conftest import IngestPoster, Persona
from tests.events.projections.helpers import PoisonProjection, checkpoint_of, entity_rows, seed

pytestmark = pytest.mark.django_db


def _project(persona: Persona, poison: PoisonProjection) -> None:
    projection_advance(projection=poison.name, tenant_id=persona.tenant_id, store_id=persona.store_id, batch_size=100)


def _entry(poison: PoisonProjection) -> ProjectionDeadLetter:
    return ProjectionDeadLetter.objects.get(projection=poison.name)


def test_backoff_starts_at_one_minute_and_doubles_up_to_an_hour() -> None:
    delays = [dead_letter_backoff(attempt).total_seconds() for attempt in range(1, 11)]

    assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600, 3600]


def test_a_failing_event_is_recorded_with_its_error_and_first_retry_time(
    owner: Persona, post_ingest: IngestPoster, poison: PoisonProjection
) -> None:
    seed(owner, post_ingest, [{"a": 1}, {"poison": True}, {"b": 2}])
    before = timezone.now()

    _project(owner, poison)

    entry = _entry(poison)
    assert (entry.sequence_number, entry.attempts, entry.status) == (2, 1, DeadLetterStatus.PENDING)
    assert entry.error_class == "builtins.ValueError"
    assert entry.error_message == "cannot project event 2"
    assert entry.next_retry_at is not None
    assert timedelta(seconds=59) < entry.next_retry_at - before < timedelta(seconds=61)
    assert checkpoint_of(poison.name, owner.tenant_id, owner.store_id) == 3
    assert dead_letter_open_count() >= 1


def test_a_poison_event_is_parked_after_the_last_attempt_while_later_events_flow(
    owner: Persona, post_ingest: IngestPoster, poison: PoisonProjection, settings: Any
) -> None:
    settings.PROJECTION_DLQ_MAX_ATTEMPTS = 4
    seed(owner, post_ingest, [{"poison": True}, {"a": 1}])
    _project(owner, poison)
    entry = _entry(poison)

    for expected_attempts in (2, 3, 4):
        ProjectionDeadLetter.objects.filter(id=entry.id).update(next_retry_at=timezone.now() - timedelta(seconds=1))
        assert dead_letter_retry_due(limit=100) >= 1
        entry.refresh_from_db()
        assert entry.attempts == expected_attempts
        seed(owner, post_ingest, [{"n": expected_attempts}])
        _project(owner, poison)

    assert entry.status == DeadLetterStatus.PARKED
    assert entry.next_retry_at is None
    assert poison.failures == 4
    assert dead_letter_retry_due(limit=100) == 0
    assert checkpoint_of(poison.name, owner.tenant_id, owner.store_id) == 5
    assert entity_rows(owner.tenant_id, owner.store_id)[("order", "order-1")][0] == 4


def test_a_pending_entry_is_not_retried_before_its_time(
    owner: Persona, post_ingest: IngestPoster, poison: PoisonProjection
) -> None:
    seed(owner, post_ingest, [{"poison": True}])
    _project(owner, poison)

    assert dead_letter_retry_due(limit=100) == 0
    assert _entry(poison).attempts == 1


def test_retry_now_applies_the_event_once_cured_and_is_audited(
    owner: Persona, post_ingest: IngestPoster, poison: PoisonProjection
) -> None:
    seed(owner, post_ingest, [{"a": 1}, {"poison": True, "b": 2}])
    _project(owner, poison)
    poison.cured = True

    outcome = dead_letter_retry(
        tenant_id=_entry(poison).tenant_id, dead_letter_id=_entry(poison).id, actor="admin:alice"
    )

    assert outcome.succeeded
    assert outcome.entry.status == DeadLetterStatus.RESOLVED
    version, *_, state = entity_rows(owner.tenant_id, owner.store_id)[("order", "order-1")]
    assert version == 2
    assert state == '{"a": 1, "b": 2, "poison": true}'
    audit = AuditLogEntry.objects.get(target_type="dead_letter", target_id=str(outcome.entry.id))
    assert (audit.actor, audit.action, audit.tenant_id) == ("admin:alice", "dead_letter.retry", owner.tenant_id)
    with pytest.raises(DeadLetterClosedError):
        dead_letter_retry(tenant_id=outcome.entry.tenant_id, dead_letter_id=outcome.entry.id, actor="admin:alice")


def test_retry_now_that_fails_again_counts_the_attempt(
    owner: Persona, post_ingest: IngestPoster, poison: PoisonProjection
) -> None:
    seed(owner, post_ingest, [{"poison": True}])
    _project(owner, poison)

    outcome = dead_letter_retry(tenant_id=_entry(poison).tenant_id, dead_letter_id=_entry(poison).id, actor="admin:bob")

    assert not outcome.succeeded
    assert (outcome.entry.attempts, outcome.entry.status) == (2, DeadLetterStatus.PENDING)
    assert AuditLogEntry.objects.get(target_id=str(outcome.entry.id)).detail["succeeded"] is False


def test_discard_closes_the_entry_for_good(owner: Persona, post_ingest: IngestPoster, poison: PoisonProjection) -> None:
    seed(owner, post_ingest, [{"poison": True}])
    _project(owner, poison)
    entry = _entry(poison)

    discarded = dead_letter_discard(tenant_id=entry.tenant_id, dead_letter_id=entry.id, actor="admin:carol")

    assert discarded.status == DeadLetterStatus.DISCARDED
    ProjectionDeadLetter.objects.filter(id=entry.id).update(next_retry_at=timezone.now() - timedelta(seconds=1))
    assert dead_letter_retry_due(limit=100) == 0
    assert AuditLogEntry.objects.filter(action="dead_letter.discard", target_id=str(entry.id)).count() == 1
    with pytest.raises(DeadLetterClosedError):
        dead_letter_discard(tenant_id=entry.tenant_id, dead_letter_id=entry.id, actor="admin:carol")


def test_a_rebuild_leaves_a_discarded_entry_discarded(
    owner: Persona, post_ingest: IngestPoster, poison: PoisonProjection
) -> None:
    seed(owner, post_ingest, [{"a": 1}, {"poison": True}])
    _project(owner, poison)
    entry = _entry(poison)
    dead_letter_discard(tenant_id=entry.tenant_id, dead_letter_id=entry.id, actor="admin:carol")

    rebuilt = projection_rebuild(
        projection=poison.name, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=100, actor="cli:test"
    )

    after = _entry(poison)
    assert rebuilt.dead_lettered == 1  # the event still fails, and still is not applied
    assert (after.status, after.attempts, after.next_retry_at) == (DeadLetterStatus.DISCARDED, 1, None)
    assert checkpoint_of(poison.name, owner.tenant_id, owner.store_id) == 2
