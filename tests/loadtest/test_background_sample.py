"""One sample of the background's lag reads the commitment lag's largest and sum in one statement
(``commitments/sql/select_commitment_lag.sql``), the largest being what the gauge publishes."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from commitments.selectors import commitment_lag
from loadtest.background import sample

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
    assert commitment_lag() == 5
