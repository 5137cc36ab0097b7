"""Dead-letter retries, discards and the scheduled re-drive act on one tenant's entry only.

``projection_dead_letters`` is keyed ``(tenant_id, id)`` (docs/scaling.md), so another tenant
may hold an entry with the very same id (its twin here, same projection and sequence number).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from events.models import DeadLetterStatus, ProjectionDeadLetter
from events.services.dead_letters import dead_letter_discard, dead_letter_retry, dead_letter_retry_due
from events.services.projections import projection_advance
from sequencer_project.api.errors import DeadLetterNotFoundError
from sequencer_project.db.tenant_scope import EVERY_TENANT
from tests.conftest import IngestPoster, Persona
from tests.events.projections.helpers import PoisonProjection, seed

pytestmark = pytest.mark.django_db


def _entry(owner: Persona, post_ingest: IngestPoster, poison: PoisonProjection) -> ProjectionDeadLetter:
    """The owner's dead letter of a poison event."""
    seed(owner, post_ingest, [{"poison": True}])
    projection_advance(projection=poison.name, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=10)
    return ProjectionDeadLetter.objects.get(tenant_id=owner.tenant_id, projection=poison.name)


def _entry_and_twin(
    owner: Persona, outsider: Persona, post_ingest: IngestPoster, poison: PoisonProjection
) -> ProjectionDeadLetter:
    """The owner's dead letter of a poison event, and a twin of it (same id) in ``outsider``'s tenant."""
    entry = _entry(owner, post_ingest, poison)
    twin = ProjectionDeadLetter.objects.get(tenant_id=owner.tenant_id, id=entry.id)
    twin.tenant_id, twin.store_id = outsider.tenant_id, outsider.store_id
    twin.save(force_insert=True)
    return entry


def _row(persona: Persona, entry: ProjectionDeadLetter) -> tuple[str, int]:
    row = ProjectionDeadLetter.objects.get(tenant_id=persona.tenant_id, id=entry.id)
    return str(row.status), row.attempts


def test_a_retry_resolves_its_tenants_entry_and_leaves_the_twin(
    owner: Persona, outsider: Persona, post_ingest: IngestPoster, poison: PoisonProjection
) -> None:
    entry = _entry_and_twin(owner, outsider, post_ingest, poison)
    poison.cured = True

    outcome = dead_letter_retry(tenant_id=owner.tenant_id, dead_letter_id=entry.id, actor="admin:alice")

    assert outcome.succeeded
    assert _row(owner, entry) == (DeadLetterStatus.RESOLVED, 1)
    assert _row(outsider, entry) == (DeadLetterStatus.PENDING, 1)


def test_a_discard_closes_its_tenants_entry_and_leaves_the_twin(
    owner: Persona, outsider: Persona, post_ingest: IngestPoster, poison: PoisonProjection
) -> None:
    entry = _entry_and_twin(owner, outsider, post_ingest, poison)

    dead_letter_discard(tenant_id=outsider.tenant_id, dead_letter_id=entry.id, actor="admin:carol")

    assert _row(outsider, entry) == (DeadLetterStatus.DISCARDED, 1)
    assert _row(owner, entry) == (DeadLetterStatus.PENDING, 1)


def test_another_tenants_id_is_not_found(
    owner: Persona, outsider: Persona, post_ingest: IngestPoster, poison: PoisonProjection
) -> None:
    entry = _entry(owner, post_ingest, poison)

    with pytest.raises(DeadLetterNotFoundError):
        dead_letter_retry(tenant_id=outsider.tenant_id, dead_letter_id=entry.id, actor="admin:eve")

    assert _row(owner, entry) == (DeadLetterStatus.PENDING, 1)


def test_the_scheduled_retry_takes_each_due_entry_under_its_own_tenant(
    owner: Persona, outsider: Persona, post_ingest: IngestPoster, poison: PoisonProjection
) -> None:
    entry = _entry_and_twin(owner, outsider, post_ingest, poison)
    poison.cured = True
    ProjectionDeadLetter.objects.filter(id=entry.id).update(next_retry_at=timezone.now() - timedelta(seconds=1))

    assert dead_letter_retry_due(limit=100) >= 2

    assert _row(owner, entry) == (DeadLetterStatus.RESOLVED, 1)
    assert _row(outsider, entry) == (DeadLetterStatus.PENDING, 2)  # the twin's stream has no such event


def test_the_admin_retries_each_selected_row_under_its_tenant(
    staff_client: Client, owner: Persona, outsider: Persona, post_ingest: IngestPoster, poison: PoisonProjection
) -> None:
    entry = _entry_and_twin(owner, outsider, post_ingest, poison)
    poison.cured = True

    staff_client.post("/admin/events/projectiondeadletter/", {"action": "retry_now", "_selected_action": [entry.id]})

    assert _row(owner, entry) == (DeadLetterStatus.RESOLVED, 1)
    assert _row(outsider, entry) == (DeadLetterStatus.PENDING, 2)


def test_a_store_scope_outside_the_entrys_store_is_not_found(
    owner: Persona, post_ingest: IngestPoster, poison: PoisonProjection
) -> None:
    entry = _entry(owner, post_ingest, poison)
    elsewhere = [uuid.uuid4()]

    with pytest.raises(DeadLetterNotFoundError):
        dead_letter_retry(tenant_id=owner.tenant_id, store_ids=elsewhere, dead_letter_id=entry.id, actor="admin:eve")
    with pytest.raises(DeadLetterNotFoundError):
        dead_letter_discard(tenant_id=owner.tenant_id, store_ids=elsewhere, dead_letter_id=entry.id, actor="admin:eve")

    assert _row(owner, entry) == (DeadLetterStatus.PENDING, 1)
    discarded = dead_letter_discard(
        tenant_id=owner.tenant_id, store_ids=[owner.store_id, *elsewhere], dead_letter_id=entry.id, actor="admin:eve"
    )
    assert (discarded.tenant_id, discarded.status) == (owner.tenant_id, DeadLetterStatus.DISCARDED)


def test_every_tenant_finds_the_entry_by_id_and_changes_it_under_its_own_tenant(
    owner: Persona, post_ingest: IngestPoster, poison: PoisonProjection
) -> None:
    entry = _entry(owner, post_ingest, poison)
    poison.cured = True
    with pytest.raises(TypeError):  # None is never read as every tenant
        dead_letter_retry(tenant_id=None, dead_letter_id=entry.id, actor="api:bootstrap")  # type: ignore[arg-type]

    outcome = dead_letter_retry(tenant_id=EVERY_TENANT, dead_letter_id=entry.id, actor="api:bootstrap")

    assert outcome.succeeded
    assert outcome.entry.tenant_id == owner.tenant_id
    assert _row(owner, entry) == (DeadLetterStatus.RESOLVED, 1)
