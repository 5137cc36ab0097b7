"""Dead letters are applied in their stream's order, and a payload key missing from the ring holds
an entry (and its stream's later ones) instead of failing the scheduled retry (docs/projections.md,
"Dead letters")."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import orjson
import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from audit.models import AuditLogEntry
from events.models import DeadLetterStatus, ProjectionDeadLetter
from events.projections.registry import ProjectionEvent
from events.services.dead_letters import dead_letter_retry, dead_letter_retry_due
from events.services.projections import projection_advance
from events.tasks import projection_run
from tests.conftest import IngestPoster, Persona
from tests.events.projections.helpers import PoisonProjection, registered, seed

pytestmark = pytest.mark.django_db

OTHER_KEY = "2:" + "ab" * 32  # key id 2: the ring the owner keeps once key 1 is removed


class RecordingPoison(PoisonProjection):
    """A :class:`PoisonProjection` that records each event it merged, in order."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.merged: list[tuple[uuid.UUID, int]] = []

    def merge(self, current: Any, event: ProjectionEvent) -> Any:
        merged = super().merge(current, event)
        self.merged.append((event.tenant_id, event.sequence_number))
        return merged


@pytest.fixture
def poison() -> Iterator[RecordingPoison]:
    with registered(RecordingPoison(f"poison_{uuid.uuid4().hex[:8]}")) as projection:
        yield projection


def _dead_letter(persona: Persona, post_ingest: IngestPoster, poison: RecordingPoison, payloads: list[Any]) -> None:
    seed(persona, post_ingest, payloads)
    projection_advance(projection=poison.name, tenant_id=persona.tenant_id, store_id=persona.store_id, batch_size=100)


def _entries(poison: RecordingPoison, persona: Persona) -> list[ProjectionDeadLetter]:
    return list(
        ProjectionDeadLetter.objects.filter(projection=poison.name, tenant_id=persona.tenant_id).order_by(
            "sequence_number"
        )
    )


def _make_due(poison: RecordingPoison) -> None:
    past = timezone.now() - timedelta(seconds=1)
    ProjectionDeadLetter.objects.filter(projection=poison.name, status=DeadLetterStatus.PENDING).update(
        next_retry_at=past
    )


def _row(entry: ProjectionDeadLetter) -> tuple[Any, ...]:
    entry.refresh_from_db()
    return (entry.status, entry.attempts, entry.error_class, entry.error_message, entry.next_retry_at)


def _remove_key_1(settings: Any, persona: Persona) -> None:
    """The tenant's ring becomes key 2 alone: its payloads, sealed with key 1, no longer open."""
    settings.PAYLOAD_ENCRYPTION_KEYS_BY_TENANT = orjson.dumps({str(persona.tenant_id): OTHER_KEY}).decode()


# --- A payload key missing from the ring -----------------------------------------------------


def test_a_dead_letter_whose_key_left_the_ring_is_held_with_its_stream_and_retried_in_order_once_it_is_back(
    owner: Persona,
    outsider: Persona,
    post_ingest: IngestPoster,
    poison: RecordingPoison,
    settings: Any,
    staff_client: Client,
) -> None:
    _dead_letter(owner, post_ingest, poison, [{"poison": True, "v": 1}, {"a": 1}, {"poison": True, "v": 2}])
    _dead_letter(outsider, post_ingest, poison, [{"poison": True, "v": 9}])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT payload_format, payload_key_id FROM events WHERE tenant_id = %s", [owner.tenant_id]
        )
        assert cursor.fetchall() == [(1, 1)]  # sealed at rest with key 1
    first, second = _entries(poison, owner)
    (elsewhere,) = _entries(poison, outsider)
    poison.cured = True
    _make_due(poison)
    second_before = _row(second)
    _remove_key_1(settings, owner)
    poison.merged.clear()

    projection_run(0, 1)  # the beat task's body, in process: it must not raise

    assert _row(elsewhere)[0] == DeadLetterStatus.RESOLVED  # another stream's entry went on
    status, attempts, error_class, message, next_retry_at = _row(first)
    assert (status, attempts) == (DeadLetterStatus.PENDING, 1)  # not retried, no attempt counted
    assert error_class == "events.payload_crypto.PayloadKeyMissingError"
    assert message.startswith("payload_key_missing: key id 1 is not in the tenant's payload keyring")
    for key in (settings.PAYLOAD_ENCRYPTION_KEYS, OTHER_KEY):
        assert key.split(":", 1)[1] not in message  # the key's id, never the key
    assert next_retry_at is not None
    assert next_retry_at <= timezone.now()  # the next run looks again
    assert _row(second) == second_before  # held behind it, untouched
    assert [seq for tenant, seq in poison.merged if tenant == owner.tenant_id] == []
    listing = staff_client.get(f"/admin/events/projectiondeadletter/?tenant_id__exact={owner.tenant_id}")
    assert listing.status_code == 200
    assert "payload_key_missing: key id 1" in listing.content.decode()

    projection_run(0, 1)  # still missing: still held, still no attempt

    assert _row(first)[:2] == (DeadLetterStatus.PENDING, 1)
    assert _row(second) == second_before

    settings.PAYLOAD_ENCRYPTION_KEYS_BY_TENANT = ""  # key 1 is back (the global ring)
    projection_run(0, 1)

    assert _row(first)[0] == DeadLetterStatus.RESOLVED
    assert _row(second)[0] == DeadLetterStatus.RESOLVED
    # In order: 1 refolds its entity with 2, applied meanwhile (docs/projections.md, ADR 0048), then 3.
    assert [seq for tenant, seq in poison.merged if tenant == owner.tenant_id] == [1, 2, 3]


def test_a_manual_retry_of_an_entry_whose_key_is_missing_reports_it_and_counts_no_attempt(
    owner: Persona, post_ingest: IngestPoster, poison: RecordingPoison, settings: Any
) -> None:
    _dead_letter(owner, post_ingest, poison, [{"poison": True}])
    (entry,) = _entries(poison, owner)
    poison.cured = True
    _remove_key_1(settings, owner)

    response = owner.client.post(f"/api/v1/admin/dlq/{entry.id}/retry")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["succeeded"] is False
    assert (body["entry"]["status"], body["entry"]["attempts"]) == ("pending", 1)
    assert body["entry"]["error_message"].startswith("payload_key_missing: key id 1")
    audit = AuditLogEntry.objects.get(action="dead_letter.retry", target_id=str(entry.id))
    assert audit.detail["held"].startswith("payload_key_missing: key id 1")


def test_a_held_entry_does_not_keep_the_other_streams_out_of_a_small_run(
    owner: Persona, outsider: Persona, post_ingest: IngestPoster, poison: RecordingPoison, settings: Any
) -> None:
    _dead_letter(owner, post_ingest, poison, [{"poison": True}])
    _dead_letter(outsider, post_ingest, poison, [{"poison": True}])
    (held,) = _entries(poison, owner)
    (other,) = _entries(poison, outsider)
    poison.cured = True
    now = timezone.now()
    ProjectionDeadLetter.objects.filter(id=held.id).update(next_retry_at=now - timedelta(minutes=2))
    ProjectionDeadLetter.objects.filter(id=other.id).update(next_retry_at=now - timedelta(minutes=1))
    _remove_key_1(settings, owner)

    assert dead_letter_retry_due(limit=1) == 0  # the held entry came first, and was held
    assert dead_letter_retry_due(limit=1) == 1  # it queued behind the other one

    assert _row(other)[0] == DeadLetterStatus.RESOLVED
    assert _row(held)[:2] == (DeadLetterStatus.PENDING, 1)


class TimingOutPoison(RecordingPoison):
    """Cured, except that merging an event of ``slow_tenant`` hits a real statement timeout."""

    slow_tenant: uuid.UUID | None = None

    def merge(self, current: Any, event: ProjectionEvent) -> Any:
        if event.tenant_id == self.slow_tenant:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL statement_timeout = 50")
                cursor.execute("SELECT pg_sleep(2)")
        return super().merge(current, event)


def test_an_entry_whose_retry_times_out_skips_its_stream_and_the_run_goes_on(
    owner: Persona, outsider: Persona, post_ingest: IngestPoster
) -> None:
    """A statement timeout (an OperationalError) in one unit's retry used to end the whole run, and
    the entry, first again at the next tick, ended every run after it: no other tenant's entries
    were retried. The connection is still usable, so only that unit is skipped."""
    with registered(TimingOutPoison(f"poison_{uuid.uuid4().hex[:8]}")) as poison:
        _dead_letter(owner, post_ingest, poison, [{"poison": True}])
        _dead_letter(outsider, post_ingest, poison, [{"poison": True}])
        (slow,) = _entries(poison, owner)
        (other,) = _entries(poison, outsider)
        now = timezone.now()
        ProjectionDeadLetter.objects.filter(id=slow.id).update(next_retry_at=now - timedelta(minutes=2))
        ProjectionDeadLetter.objects.filter(id=other.id).update(next_retry_at=now - timedelta(minutes=1))
        poison.cured, poison.slow_tenant = True, owner.tenant_id

        assert dead_letter_retry_due(limit=100) == 1  # the slow one first, skipped; the other applied

        assert _row(other)[0] == DeadLetterStatus.RESOLVED
        assert _row(slow)[:2] == (DeadLetterStatus.PENDING, 1)  # rolled back: unchanged
        assert poison.merged == [(outsider.tenant_id, 1)]


# --- Order within a stream -------------------------------------------------------------------


def test_the_scheduled_retry_holds_a_later_entry_behind_an_earlier_open_one_of_its_stream(
    owner: Persona, post_ingest: IngestPoster, poison: RecordingPoison
) -> None:
    _dead_letter(owner, post_ingest, poison, [{"poison": True}, {"poison": True}])
    first, second = _entries(poison, owner)
    ProjectionDeadLetter.objects.filter(id=second.id).update(next_retry_at=timezone.now() - timedelta(seconds=1))
    poison.cured = True
    poison.merged.clear()

    assert dead_letter_retry_due(limit=100) == 0  # the second is due, the first is not yet

    assert _row(second)[:2] == (DeadLetterStatus.PENDING, 1)
    assert poison.merged == []

    poison.cured = False
    _make_due(poison)
    assert dead_letter_retry_due(limit=100) == 1  # the first fails again: the second stays held
    assert _row(first)[1] == 2
    assert _row(second)[1] == 1

    poison.cured = True
    _make_due(poison)
    assert dead_letter_retry_due(limit=100) == 2  # both, in order, in one run
    assert poison.merged == [(owner.tenant_id, 1), (owner.tenant_id, 2)]


def test_retrying_a_later_entry_while_an_earlier_one_is_open_is_refused_and_changes_nothing(
    owner: Persona, post_ingest: IngestPoster, poison: RecordingPoison
) -> None:
    _dead_letter(owner, post_ingest, poison, [{"poison": True, "v": 1}, {"poison": True, "v": 2}])
    first, second = _entries(poison, owner)
    before = _row(second)
    poison.cured = True
    poison.merged.clear()

    refused = owner.client.post(f"/api/v1/admin/dlq/{second.id}/retry")

    assert refused.status_code == 409
    assert refused["Content-Type"] == "application/problem+json"
    problem = refused.json()
    assert (problem["status"], problem["code"]) == (409, "dead_letter_out_of_order")
    assert str(first.id) in problem["detail"]
    assert problem["earlier_dead_letter_id"] == first.id
    assert _row(second) == before
    assert poison.merged == []
    assert not AuditLogEntry.objects.filter(target_type="dead_letter").exists()

    assert owner.client.post(f"/api/v1/admin/dlq/{first.id}/retry").json()["succeeded"] is True
    assert owner.client.post(f"/api/v1/admin/dlq/{second.id}/retry").json()["succeeded"] is True
    assert poison.merged == [(owner.tenant_id, 1), (owner.tenant_id, 2)]


def test_any_earlier_open_entry_of_the_stream_holds_a_retry_and_a_discarded_one_does_not(
    owner: Persona, outsider: Persona, post_ingest: IngestPoster, poison: RecordingPoison, settings: Any
) -> None:
    settings.PROJECTION_DLQ_MAX_ATTEMPTS = 1  # every entry parked at once
    seed(owner, post_ingest, [{"poison": True}], entity_id="order-a")
    _dead_letter(owner, post_ingest, poison, [{"poison": True}])  # another entity, same stream
    _dead_letter(outsider, post_ingest, poison, [{"poison": True}])
    first, second = _entries(poison, owner)
    assert first.status == DeadLetterStatus.PARKED
    poison.cured = True

    refused = owner.client.post(f"/api/v1/admin/dlq/{second.id}/retry")
    assert (refused.status_code, refused.json()["code"]) == (409, "dead_letter_out_of_order")
    (other,) = _entries(poison, outsider)  # another stream: not held by the owner's entries
    assert dead_letter_retry(tenant_id=outsider.tenant_id, dead_letter_id=other.id, actor="test").succeeded

    discarded = owner.client.post(f"/api/v1/admin/dlq/{first.id}/discard")
    assert discarded.status_code == 200, discarded.content
    retried = owner.client.post(f"/api/v1/admin/dlq/{second.id}/retry")
    assert (retried.status_code, retried.json()["succeeded"]) == (200, True)


def test_the_admin_retries_a_selection_in_stream_order_and_refuses_a_later_entry_alone(
    staff_client: Client, owner: Persona, post_ingest: IngestPoster, poison: RecordingPoison
) -> None:
    _dead_letter(owner, post_ingest, poison, [{"poison": True}, {"poison": True}, {"poison": True}])
    first, second, third = _entries(poison, owner)
    before = _row(third)
    poison.cured = True
    poison.merged.clear()
    url = "/admin/events/projectiondeadletter/"

    alone = staff_client.post(url, {"action": "retry_now", "_selected_action": [third.id]}, follow=True)

    assert alone.status_code == 200
    shown = [str(m) for m in alone.context["messages"]]
    assert any(f"Entry {third.id} not retried" in m and str(first.id) in m for m in shown), shown
    assert _row(third) == before
    assert poison.merged == []

    both = staff_client.post(url, {"action": "retry_now", "_selected_action": [second.id, first.id]}, follow=True)

    assert both.status_code == 200
    assert [str(m) for m in both.context["messages"]] == ["Retried 2: 2 applied, 0 failed again."]
    assert (_row(first)[0], _row(second)[0]) == (DeadLetterStatus.RESOLVED, DeadLetterStatus.RESOLVED)
    assert poison.merged == [(owner.tenant_id, 1), (owner.tenant_id, 2)]

    again = staff_client.post(url, {"action": "retry_now", "_selected_action": [first.id]}, follow=True)

    assert [(str(m), m.level_tag) for m in again.context["messages"]] == [
        ("1 selected entries not retried: closed already (1 resolved).", "warning"),
        ("Retried 0: 0 applied, 0 failed again.", "warning"),
    ]
    assert poison.merged == [(owner.tenant_id, 1), (owner.tenant_id, 2)]
