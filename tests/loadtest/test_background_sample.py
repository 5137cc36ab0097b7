"""One sample of the background's lag reads the commitment lag's largest and sum in one statement
(``commitments/sql/select_commitment_lag.sql``), the largest being what the gauge publishes, and
each lag's age: how long ago the oldest event not yet applied was sequenced."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from commitments.selectors import pending_streams
from events.projections.entity_state import ENTITY_STATE
from events.services.projections import projection_advance
from loadtest.background import sample
from tests.conftest import IngestPoster, Persona
from tests.events.projections.helpers import seed

pytestmark = pytest.mark.django_db


def test_a_sample_has_the_largest_commitment_lag_and_the_sum_over_all_streams() -> None:
    tenant_id = uuid.uuid4()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO sequence_counters (tenant_id, store_id, stream_kind, current_sequence)"
            " VALUES (%(t)s, %(a)s, 1, 5), (%(t)s, %(b)s, 2, 3), (%(t)s, %(c)s, 3, 100)",
            {"t": tenant_id, "a": uuid.uuid4(), "b": uuid.uuid4(), "c": uuid.uuid4()},
        )
    connection.ensure_connection()

    taken = sample(connection.connection, 1.0)

    assert (taken.commitment, taken.commitment_total) == (5, 8)  # kind 3 (x402) has no commitments
    assert pending_streams(limit=1)[1] == 5  # the largest backlog: what the commitment tick publishes


def test_a_sample_ages_the_oldest_event_not_yet_projected_or_committed(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    seed(owner, post_ingest, [{"a": 1}, {"b": 2}, {"c": 3}])
    with connection.cursor() as cursor:  # events 1, 2, 3 sequenced 30, 20 and 10 s ago
        cursor.execute(
            "UPDATE events SET sequenced_at = now() - make_interval(secs => 40 - 10 * sequence_number)"
            " WHERE tenant_id = %s AND store_id = %s",
            [owner.tenant_id, owner.store_id],
        )
        cursor.execute("DELETE FROM sequence_counters WHERE tenant_id <> %s", [owner.tenant_id])  # others' streams
    projection_advance(projection=ENTITY_STATE, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=1)
    connection.ensure_connection()

    taken = sample(connection.connection, 1.0)

    assert taken.projection_age == pytest.approx(20.0)  # event 2 is the oldest not projected
    assert taken.commitment_age == pytest.approx(30.0)  # nothing is committed yet: event 1
    projection_advance(projection=ENTITY_STATE, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=10)
    assert sample(connection.connection, 2.0).projection_age == 0.0
