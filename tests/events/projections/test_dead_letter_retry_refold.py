"""A dead letter of ``entity_state`` retried after a later event of its entity was applied refolds
the entity from its history instead of merging its stale payload on top (docs/projections.md,
"Dead letters"; ADR 0048, amendment): the state is the in-order fold of the entity's events, the
one ``projections_rebuild`` gives. Payloads are sealed at rest (tests/settings.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import orjson
import pytest
from django.db import connection
from django.utils import timezone

from events.models import DeadLetterStatus, ProjectionDeadLetter
from events.projections import entity_state
from events.projections.merge import merge_patch
from events.projections.registry import ProjectionEvent, UnreadablePayloadError
from events.services.dead_letters import dead_letter_retry, dead_letter_retry_due
from events.services.projections import projection_advance, projection_rebuild
from tests.conftest import IngestPoster, Persona
from tests.events.projections.helpers import PoisonProjection, entity_rows, registered, seed

pytestmark = pytest.mark.django_db

ENTITY = ("order", "order-0")
UNREADABLE = f"{UnreadablePayloadError.__module__}.{UnreadablePayloadError.__qualname__}"


class CurablePoison(PoisonProjection):
    """A :class:`PoisonProjection` whose poison events are cured one by one (``cured_sequences``)
    or all at once (``cured``)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.cured_sequences: set[int] = set()

    def merge(self, current: Any, event: ProjectionEvent) -> Any:
        if event.sequence_number in self.cured_sequences:
            return merge_patch(current, event.payload)
        return super().merge(current, event)


@pytest.fixture
def poison() -> Iterator[CurablePoison]:
    with registered(CurablePoison(f"poison_{uuid.uuid4().hex[:8]}")) as projection:
        yield projection


def _project(persona: Persona, post_ingest: IngestPoster, poison: CurablePoison, payloads: list[Any]) -> None:
    seed(persona, post_ingest, payloads, entity_id=ENTITY[1])
    projection_advance(projection=poison.name, tenant_id=persona.tenant_id, store_id=persona.store_id, batch_size=100)


def _entry(poison: CurablePoison, persona: Persona, sequence_number: int) -> ProjectionDeadLetter:
    return ProjectionDeadLetter.objects.get(
        projection=poison.name, tenant_id=persona.tenant_id, store_id=persona.store_id, sequence_number=sequence_number
    )


def _open(poison: CurablePoison, persona: Persona) -> list[tuple[int, str]]:
    entries = ProjectionDeadLetter.objects.filter(
        projection=poison.name, tenant_id=persona.tenant_id, status__in=(DeadLetterStatus.PENDING, "parked")
    )
    return list(entries.order_by("sequence_number").values_list("sequence_number", "error_class"))


def _retry(poison: CurablePoison, persona: Persona, sequence_number: int) -> None:
    entry = _entry(poison, persona, sequence_number)
    outcome = dead_letter_retry(tenant_id=persona.tenant_id, dead_letter_id=entry.id, actor="staff:test")
    assert outcome.succeeded, outcome.entry.error_message


def _event_ids(persona: Persona) -> dict[int, uuid.UUID]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sequence_number, event_id FROM events WHERE tenant_id = %s AND store_id = %s",
            [persona.tenant_id, persona.store_id],
        )
        return dict(cursor.fetchall())


def _row(persona: Persona) -> tuple[Any, ...]:
    """The entity's ``(version, last_sequence, last_event_id, last_event_type, state)``, the
    state as a value (opened when sealed)."""
    *columns, state = entity_rows(persona.tenant_id, persona.store_id)[ENTITY]
    return (*columns, orjson.loads(state))


def _rebuilt_equals_current(poison: CurablePoison, persona: Persona) -> None:
    """A rebuild of the stream leaves every row as it is."""
    before = entity_rows(persona.tenant_id, persona.store_id)
    projection_rebuild(
        projection=poison.name, tenant_id=persona.tenant_id, store_id=persona.store_id, batch_size=100, actor="test"
    )
    assert entity_rows(persona.tenant_id, persona.store_id) == before


def test_a_dead_letter_retried_after_a_later_event_refolds_the_entity_as_a_rebuild_does(
    owner: Persona, post_ingest: IngestPoster, poison: CurablePoison
) -> None:
    # The audit: #1 dead-lettered, #2 applied, #1's cause fixed, then "Retry selected entries now".
    _project(owner, post_ingest, poison, [{"poison": True, "p": 1, "note": "first"}, {"p": 2}])
    assert _open(poison, owner) == [(1, "builtins.ValueError")]
    ids = _event_ids(owner)
    assert _row(owner) == (1, 2, ids[2], "order.created", {"p": 2})

    poison.cured = True
    _retry(poison, owner, 1)

    # The in-order fold of the entity's history, not #1 merged over #2 ({"p": 1, ...}).
    fold = merge_patch(merge_patch(None, {"poison": True, "p": 1, "note": "first"}), {"p": 2})
    assert _row(owner) == (2, 2, ids[2], "order.created", fold)
    assert _entry(poison, owner, 1).status == DeadLetterStatus.RESOLVED
    assert _open(poison, owner) == []
    _rebuilt_equals_current(poison, owner)


def test_a_retried_event_newer_than_its_entitys_state_is_merged_on_top_as_before(
    owner: Persona, post_ingest: IngestPoster, poison: CurablePoison
) -> None:
    # #2 of order-0 is dead-lettered; #3, a later event, is another entity's: order-0's state
    # holds #1 only, so #2 is merged on top of it.
    _project(owner, post_ingest, poison, [{"a": 1}, {"poison": True, "p": 1}])
    seed(owner, post_ingest, [{"b": 1}], entity_id="order-other")
    projection_advance(projection=poison.name, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=100)
    ids = _event_ids(owner)
    assert _row(owner) == (1, 1, ids[1], "order.created", {"a": 1})
    other = entity_rows(owner.tenant_id, owner.store_id)[("order", "order-other")]

    poison.cured = True
    _retry(poison, owner, 2)

    assert _row(owner) == (2, 2, ids[2], "order.created", {"a": 1, "poison": True, "p": 1})
    assert entity_rows(owner.tenant_id, owner.store_id)[("order", "order-other")] == other
    _rebuilt_equals_current(poison, owner)


@pytest.mark.parametrize("page", [100, 1])  # the entity's history read in one page, or one event a page
def test_a_refold_skips_a_later_open_dead_letter_which_retried_in_order_gives_the_full_fold(
    owner: Persona, post_ingest: IngestPoster, poison: CurablePoison, page: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(entity_state, "HISTORY_PAGE", page)
    payloads: list[Any] = [{"poison": True, "p": 1, "k": "a"}, {"poison": True, "p": 3, "r": 1}, {"p": 2}]
    _project(owner, post_ingest, poison, payloads)
    assert [seq for seq, _ in _open(poison, owner)] == [1, 2]
    ids = _event_ids(owner)
    assert _row(owner) == (1, 3, ids[3], "order.created", {"p": 2})

    poison.cured_sequences.add(1)
    _retry(poison, owner, 1)

    # #2 is still dead-lettered: the refold folds #1 and #3 only.
    assert _row(owner) == (2, 3, ids[3], "order.created", merge_patch(merge_patch(None, payloads[0]), payloads[2]))
    assert [seq for seq, _ in _open(poison, owner)] == [2]

    # #2 cured, retried in order by the scheduled run: the full fold.
    poison.cured_sequences.add(2)
    ProjectionDeadLetter.objects.filter(projection=poison.name, status=DeadLetterStatus.PENDING).update(
        next_retry_at=timezone.now() - timedelta(seconds=1)
    )
    assert dead_letter_retry_due(limit=10) == 1

    full: Any = None
    for payload in payloads:
        full = merge_patch(full, payload)
    assert full["p"] == 2  # a merge of #2 on top would say 3
    assert _row(owner) == (3, 3, ids[3], "order.created", full)
    assert _open(poison, owner) == []
    poison.cured = True  # the rebuild replays every event
    _rebuilt_equals_current(poison, owner)


def test_a_refold_dead_letters_another_event_whose_payload_no_longer_opens_and_goes_on(
    owner: Persona, post_ingest: IngestPoster, poison: CurablePoison
) -> None:
    _project(owner, post_ingest, poison, [{"a": 1}, {"poison": True, "p": 1}, {"p": 2}])
    ids = _event_ids(owner)
    assert _row(owner) == (2, 3, ids[3], "order.created", {"a": 1, "p": 2})
    with connection.cursor() as cursor:  # #1, applied already, altered at rest since
        cursor.execute(
            "UPDATE events SET payload = set_byte(payload, 20, get_byte(payload, 20) # 1)"
            " WHERE tenant_id = %s AND store_id = %s AND sequence_number = 1",
            [owner.tenant_id, owner.store_id],
        )

    poison.cured = True
    _retry(poison, owner, 2)  # no crash: it is applied

    # #1 is dead-lettered as the runner (and a rebuild) would have it; #2 and #3 are folded.
    assert _row(owner) == (2, 3, ids[3], "order.created", {"poison": True, "p": 2})
    assert _open(poison, owner) == [(1, UNREADABLE)]
    _rebuilt_equals_current(poison, owner)
    assert _open(poison, owner) == [(1, UNREADABLE)]
