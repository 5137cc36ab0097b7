"""The append statements' runner below psycopg's cursor (``sequencer_project.db.prepared``): the
parameters it encodes itself reach PostgreSQL as the values they were, a statement is prepared
once per session and again when the session forgot it, it runs in the caller's transaction, and a
failure raises the error psycopg's cursor raises."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import psycopg
import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sequencer_project.db.prepared import (
    BIGINT,
    BIGINT_ARRAY,
    BYTEA_ARRAY,
    JSONB,
    SMALLINT,
    UUID,
    UUID_ARRAY,
    PreparedStatement,
    as_bool,
    as_int,
    positional,
)
from tests.sequencer_project.prepared_helpers import deallocate_prepared, prepared_names

pytestmark = pytest.mark.django_db(transaction=True)

_ECHO = PreparedStatement(
    "test_prepared_echo",
    """SELECT %(small)s::text, %(big)s::text, %(id)s::text, %(doc)s::jsonb::text,
              (SELECT coalesce(string_agg(encode(b, 'hex'), ',' ORDER BY n), '')
               FROM unnest(%(blobs)b::bytea[]) WITH ORDINALITY AS x(b, n)),
              array_to_string(%(ids)b::uuid[], ','), array_to_string(%(bigs)b::bigint[], ','),
              cardinality(%(blobs)b::bytea[]), %(big)s > %(small)s, '100%%'""",
    {
        "small": SMALLINT,
        "big": BIGINT,
        "id": UUID,
        "doc": JSONB,
        "blobs": BYTEA_ARRAY,
        "ids": UUID_ARRAY,
        "bigs": BIGINT_ARRAY,
    },
)


def _raw() -> psycopg.Connection[Any]:
    connection.ensure_connection()
    raw: psycopg.Connection[Any] = connection.connection
    return raw


def test_named_placeholders_become_numbered_ones_in_order_of_first_use() -> None:
    text, names = positional("SELECT %(b)s, %(a)b, %(b)s, '50%%', %(c)t")

    assert text == "SELECT $1, $2, $1, '50%', $3"
    assert names == ["b", "a", "c"]


def test_every_placeholder_needs_a_codec_and_every_codec_a_placeholder() -> None:
    with pytest.raises(ValueError, match="placeholders"):
        PreparedStatement("test_prepared_missing", "SELECT %(a)s::int, %(b)s::int", {"a": BIGINT})
    with pytest.raises(ValueError, match="placeholders"):
        PreparedStatement("test_prepared_extra", "SELECT %(a)s::int", {"a": BIGINT, "b": BIGINT})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    small=st.integers(min_value=-(2**15), max_value=2**15 - 1),
    big=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    blobs=st.lists(st.binary(max_size=64), max_size=6),
    ids=st.lists(st.uuids(), max_size=4),
    bigs=st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=5),
    key=st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=8),
)
def test_parameters_reach_postgresql_as_the_values_they_were(
    small: int, big: int, blobs: list[bytes], ids: list[uuid.UUID], bigs: list[int], key: str
) -> None:
    one = uuid.uuid4()
    doc = {key: [big, "é"]}
    params = {"small": small, "big": big, "id": one, "blobs": blobs, "ids": ids, "bigs": bigs}
    (row,) = _ECHO.run(_raw(), {**params, "doc": orjson.dumps(doc)})

    assert row[0] == str(small).encode()
    assert row[1] == str(big).encode()
    assert row[2] is not None
    assert uuid.UUID(row[2].decode()) == one
    assert row[3] is not None
    assert orjson.loads(row[3]) == doc
    assert row[4] == ",".join(blob.hex() for blob in blobs).encode()
    assert row[5] == ",".join(str(i) for i in ids).encode()
    assert row[6] == ",".join(str(n) for n in bigs).encode()
    assert as_int(row[7]) == len(blobs)
    assert as_bool(row[8]) is (big > small)  # compared as integers, not as text
    assert row[9] == b"100%"


def test_json_reaches_postgresql_as_the_same_document() -> None:
    (row,) = _ECHO.run(_raw(), _params(doc='{"b": [1, 2.5, "é\\u00e9"], "a": null}'))
    assert row[3] == '{"a": null, "b": [1, 2.5, "éé"]}'.encode()

    (row,) = _ECHO.run(_raw(), _params(doc=b'{"z": true}'))  # orjson's bytes as they are
    assert row[3] == b'{"z": true}'


def test_none_is_null() -> None:
    (row,) = _ECHO.run(_raw(), _params(small=None, id=None, doc=None))
    assert row[0] is None
    assert row[2] is None
    assert row[3] is None
    assert row[8] is None


def test_a_statement_is_prepared_once_per_session_and_again_when_the_session_forgot_it() -> None:
    raw = _raw()
    _ECHO.run(raw, _params())
    assert _prepared(raw) == 1

    _ECHO.run(raw, _params())
    assert _prepared(raw) == 1

    deallocate_prepared(raw, "test_prepared_echo")  # as a pooler's DISCARD ALL would, for ours
    assert _prepared(raw) == 0
    (row,) = _ECHO.run(raw, _params(small=7))
    assert row[0] == b"7"
    assert _prepared(raw) == 1


def test_it_runs_in_the_callers_transaction() -> None:
    see = PreparedStatement("test_prepared_see", "SELECT count(*) FROM pg_temp.scratch WHERE n = %(n)s", {"n": BIGINT})
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE scratch (n bigint PRIMARY KEY)")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO pg_temp.scratch VALUES (1)")
        assert see.run(_raw(), {"n": 1}) == [(b"1",)]
        transaction.set_rollback(True)
    assert see.run(_raw(), {"n": 1}) == [(b"0",)]


def test_a_failure_raises_the_error_psycopgs_cursor_raises_and_the_connection_goes_on() -> None:
    insert = PreparedStatement(
        "test_prepared_insert", "INSERT INTO pg_temp.unique_ns VALUES (%(n)s) RETURNING n", {"n": BIGINT}
    )
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE unique_ns (n bigint PRIMARY KEY)")
    assert insert.run(_raw(), {"n": 1}) == [(b"1",)]

    with pytest.raises(psycopg.errors.UniqueViolation) as raised:
        insert.run(_raw(), {"n": 1})
    with pytest.raises(psycopg.errors.UniqueViolation) as by_cursor, _raw().cursor() as cursor:
        cursor.execute("INSERT INTO pg_temp.unique_ns VALUES (%s)", (1,))

    assert raised.value.sqlstate == by_cursor.value.sqlstate == "23505"
    assert raised.value.diag.constraint_name == by_cursor.value.diag.constraint_name
    assert insert.run(_raw(), {"n": 2}) == [(b"2",)]


def _params(**changes: Any) -> dict[str, Any]:
    base = {
        "small": 1,
        "big": 2,
        "id": uuid.uuid4(),
        "doc": "{}",
        "blobs": [b"\x00\xff"],
        "ids": [uuid.uuid4()],
        "bigs": [3],
    }
    return {**base, **changes}


def _prepared(raw: psycopg.Connection[Any]) -> int:
    return len(prepared_names(raw, "test_prepared_echo"))


def test_unnamed_it_runs_the_same_and_prepares_nothing() -> None:
    raw = _raw()
    deallocate_prepared(raw, "test_prepared_echo")  # if an earlier test prepared it on this pooled session
    (row,) = _ECHO.run(raw, _params(small=9, blobs=[b"\x01", b""]), named=False)

    assert row[0] == b"9"
    assert row[4] == b"01,"
    assert _prepared(raw) == 0
