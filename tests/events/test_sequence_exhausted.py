"""A stream whose sequence numbers would pass 2^63 - 1 refuses the events, stores nothing and
answers 409 ``sequence_exhausted`` (a growth audit got a 500 ``bigint out of range``).

Traffic cannot get there; a counter set by hand or a restore can, so the counter is set here.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from streams.kinds import StreamKind
from tests.conftest import IngestPoster, Persona, legacy_event, stream_head_set
from tests.events.ves_helpers import Agent, post_ves, register_key

LAST = 2**63 - 1


_COUNT = {
    "events": "SELECT count(*) FROM events WHERE tenant_id = %s AND store_id = %s",
    "ves_events": "SELECT count(*) FROM ves_events WHERE tenant_id = %s AND store_id = %s",
}


def _stored(owner: Persona, table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(_COUNT[table], [owner.tenant_id, owner.store_id])
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def _exhausted(response: Any) -> None:
    assert response.status_code == 409, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert (body["status"], body["code"]) == (409, "sequence_exhausted")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("events", [1, 5])
def test_legacy_events_past_the_last_sequence_number_are_refused(
    owner: Persona, post_ingest: IngestPoster, events: int
) -> None:
    first = post_ingest(owner.client, {"events": [legacy_event(owner.tenant_id, owner.store_id)]})
    assert first.status_code == 200, first.content
    stream_head_set(owner, StreamKind.LEGACY, LAST - events + 1)
    body = {"events": [legacy_event(owner.tenant_id, owner.store_id) for _ in range(events)]}
    _exhausted(post_ingest(owner.client, body))
    assert _stored(owner, "events") == 1
    # What still fits is taken, up to the last number.
    stream_head_set(owner, StreamKind.LEGACY, LAST - events)
    fits = post_ingest(owner.client, body)
    assert fits.status_code == 200, fits.content
    assert fits.json()["assigned_sequence_end"] == LAST


@pytest.mark.django_db(transaction=True)
def test_ves_events_past_the_last_sequence_number_are_refused(owner: Persona) -> None:
    agent = Agent(owner.tenant_id, owner.store_id)
    assert register_key(owner.client, owner.tenant_id, agent.agent_id, 1, agent.public_key).status_code == 200
    assert post_ves(owner.client, agent.agent_id, [agent.event({"n": 0})]).status_code == 200
    stream_head_set(owner, StreamKind.VES, LAST - 2)
    events = [agent.event({"n": n}) for n in range(1, 4)]
    _exhausted(post_ves(owner.client, agent.agent_id, events))
    assert _stored(owner, "ves_events") == 1
    fits = post_ves(owner.client, agent.agent_id, events[:2])
    assert fits.status_code == 200, fits.content
    assert fits.json()["sequenceEnd"] == LAST


@pytest.mark.django_db(transaction=True)
def test_a_legacy_replay_at_the_last_sequence_number_is_answered_as_a_replay(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    stored = legacy_event(owner.tenant_id, owner.store_id)
    assert post_ingest(owner.client, {"events": [stored]}).status_code == 200
    stream_head_set(owner, StreamKind.LEGACY, LAST)
    # Numbered as a new event, the replay would pass the last number; it is a replay.
    replay = post_ingest(owner.client, {"events": [stored]})
    assert replay.status_code == 200, replay.content
    assert replay.json()["events_accepted"] == 0
    stream_head_set(owner, StreamKind.LEGACY, LAST - 1)  # one number left: a replay and one new event fit
    fits = post_ingest(owner.client, {"events": [stored, legacy_event(owner.tenant_id, owner.store_id)]})
    assert fits.status_code == 200, fits.content
    assert fits.json()["assigned_sequence_end"] == LAST
