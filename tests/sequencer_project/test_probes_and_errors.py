"""Probes, request ids, and problem+json for failures outside DRF's happy path."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from psycopg import sql

from sequencer_project import health
from sequencer_project.db.partitions import create_hash_partitions, partition_name

pytestmark = pytest.mark.django_db


def test_health_does_no_io(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        response = Client().get("/health")

    assert response.status_code == 200
    assert response.json()["status"] == "healthy"


def test_ready_asks_the_database() -> None:
    response = Client().get("/ready")

    assert response.status_code == 200
    assert response.json()["database"]["connected"] is True


def test_ready_is_a_503_problem_when_the_database_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import OperationalError

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("connection refused")

    monkeypatch.setattr(health, "database_ping", broken)

    response = Client().get("/ready")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "database_unavailable"


def test_a_request_id_is_echoed_or_made() -> None:
    echoed = Client().get("/health", HTTP_X_REQUEST_ID="req-123")
    made = Client().get("/health", HTTP_X_REQUEST_ID="bad id with spaces")

    assert echoed["X-Request-ID"] == "req-123"
    assert made["X-Request-ID"] != "bad id with spaces"
    assert len(made["X-Request-ID"]) == 36


def test_unknown_api_paths_are_problem_404s() -> None:
    response = Client().get("/api/v1/does-not-exist")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_an_unexpected_error_is_a_500_problem_without_internals(monkeypatch: pytest.MonkeyPatch) -> None:
    from events.api import head

    def explode(**kwargs: Any) -> int:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(head, "stream_head_get", explode)
    client = Client(raise_request_exception=False)

    response = client.get(
        "/api/v1/head?tenant_id=00000000-0000-0000-0000-000000000001&store_id=00000000-0000-0000-0000-000000000001",
        HTTP_AUTHORIZATION="ApiKey test-bootstrap-admin",
    )

    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "internal_error"
    assert "secret internal detail" not in response.content.decode()
    assert response.json()["instance"] == response["X-Request-ID"]


@pytest.mark.django_db(transaction=True)
def test_a_real_lock_timeout_becomes_a_503_stream_busy_problem() -> None:
    import psycopg
    from django.db import OperationalError, transaction

    from sequencer_project.api.problems import problem_exception_handler

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE lock_probe (id int PRIMARY KEY)")
        cursor.execute("INSERT INTO lock_probe VALUES (1)")
    params = connection.get_connection_params()
    holder = psycopg.connect(
        host=params.get("host"), port=params.get("port"), user=params.get("user"), dbname=params["dbname"]
    )
    try:
        holder.execute("SELECT id FROM lock_probe WHERE id = 1 FOR UPDATE")  # held until rollback
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '50ms'")
            with pytest.raises(OperationalError) as caught:
                cursor.execute("SELECT id FROM lock_probe WHERE id = 1 FOR UPDATE")
    finally:
        holder.rollback()
        holder.close()

    response = problem_exception_handler(caught.value, {})

    assert response is not None
    assert response.status_code == 503
    assert b'"code":"stream_busy"' in response.content
    assert response["Retry-After"] == "1"


def test_partition_ddl_is_composed_with_identifiers_and_runs_through_djangos_cursor() -> None:
    statements = create_hash_partitions("events", 16)

    assert all(isinstance(s, sql.Composed) for s in statements)
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)  # IF NOT EXISTS: a no-op on the migrated schema
        cursor.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass")
        assert cursor.fetchone()[0] == 16
    assert partition_name("events", 3) == "events_p03"
    with pytest.raises(ValueError, match="invalid table name"):
        create_hash_partitions("events; DROP TABLE x", 2)
