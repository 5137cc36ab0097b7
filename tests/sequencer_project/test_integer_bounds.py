"""The ORM's ``int2``/``int4`` parameters are refused out of range, never wrapped
(``sequencer_project/db/integer_bounds.py``): psycopg's compiled dumpers kept the low bits."""

from __future__ import annotations

import pytest
from django.db import DataError, connection, transaction
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg.types.numeric import Int2, Int4

from tenants.models import ApiKey, Tenant

pytestmark = pytest.mark.django_db


def test_the_suite_binds_on_the_server_as_deployments_do() -> None:
    """Only server-side binding sends ``Int4`` in binary, where the wrap happened: the tests below
    would pass without the fix under client-side binding (PostgreSQL refuses the text)."""
    assert connection.settings_dict["OPTIONS"]["server_side_binding"] is True


def _round_trip(value: int, wrapper: type[int], sql_type: str) -> int | None:
    """What PostgreSQL reads back for ``value`` bound as ``wrapper`` (binary), or None if refused."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SELECT %s::{sql_type}", [wrapper(value)])
            return int(cursor.fetchone()[0])
    except DataError:
        return None


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-(2**40), max_value=2**40))
def test_an_int4_parameter_is_stored_exactly_or_refused(value: int) -> None:
    read = _round_trip(value, Int4, "int4")
    assert read == (value if -(2**31) <= value < 2**31 else None)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-(2**20), max_value=2**20))
def test_an_int2_parameter_is_stored_exactly_or_refused(value: int) -> None:
    read = _round_trip(value, Int2, "int2")
    assert read == (value if -(2**15) <= value < 2**15 else None)


def test_an_orm_write_of_an_out_of_range_integer_fails_and_stores_nothing() -> None:
    tenant = Tenant.objects.create(name="bounds")
    with pytest.raises(DataError, match="out of range"), transaction.atomic():
        ApiKey.objects.create(
            key_hash="k" * 64, display_prefix="ss_bounds", tenant=tenant, name="wraps", rate_limit=4294967297
        )
    assert not ApiKey.objects.filter(name="wraps").exists()
