"""Admin lists of tables that grow without bound are served by indexes
(``sequencer_project/admin_lists.py``): searches match whole ids or prefixes the indexes serve, a
filter's choices come from a loose index scan, and an unfiltered list of a large table is sized
by the planner's estimate instead of a count."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from audit.models import AuditLogEntry
from payments.models import PaymentIntent
from sequencer_project import admin_lists
from sequencer_project.admin_lists import EstimatedCountPaginator, estimated_rows
from tests.commitments.helpers import create, ingest_ves_case
from tests.conftest import Persona
from tests.payments.helpers import Payer, post_intent
from tests.ves.ves_case_vectors import CASES

pytestmark = pytest.mark.django_db

AUDIT = "/admin/audit/auditlogentry/"


def _audit_rows() -> tuple[uuid.UUID, list[AuditLogEntry]]:
    tenant = uuid.uuid4()
    rows = [
        AuditLogEntry.objects.create(
            actor="admin:alice", action="api_key.create", target_type="api_key", target_id="ss_a1", tenant_id=tenant
        ),
        AuditLogEntry.objects.create(
            actor="admin:bob", action="api_key.revoke", target_type="api_key", target_id="ss_b2", tenant_id=None
        ),
        AuditLogEntry.objects.create(
            actor="cli:rotate",
            action="payload.reencrypt",
            target_type="tenant",
            target_id=str(tenant),
            tenant_id=tenant,
        ),
    ]
    return tenant, rows


def _listed(page: Any, rows: list[AuditLogEntry]) -> list[str]:
    content = page.content.decode()
    return [row.actor for row in rows if f"/admin/audit/auditlogentry/{row.pk}/change/" in content]


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("admin:", ["admin:alice", "admin:bob"]),  # an actor's start
        ("admin:alice", ["admin:alice"]),
        ("ss_b", ["admin:bob"]),  # a target id's start
        ("lice", []),  # the middle of a word: no index serves it
        ("ADMIN:", []),  # as written
    ],
)
def test_the_audit_log_is_searched_by_prefix(staff_client: Client, term: str, expected: list[str]) -> None:
    _, rows = _audit_rows()

    page = staff_client.get(AUDIT, {"q": term})

    assert page.status_code == 200
    assert _listed(page, rows) == expected


def test_a_tenant_id_finds_the_tenants_audit_rows_and_rows_naming_it(staff_client: Client) -> None:
    tenant, rows = _audit_rows()

    for spelling in (str(tenant), str(tenant).upper(), tenant.hex):
        assert _listed(staff_client.get(AUDIT, {"q": spelling}), rows) == ["admin:alice", "cli:rotate"], spelling


def test_the_audit_filters_list_the_actions_and_target_types_present(staff_client: Client) -> None:
    _, rows = _audit_rows()

    page = staff_client.get(AUDIT).content.decode()
    filtered = staff_client.get(AUDIT, {"action": "api_key.revoke"})

    for value in ("?action=api_key.create", "?action=api_key.revoke", "?action=payload.reencrypt"):
        assert value in page
    assert "?target_type=api_key" in page
    assert "?target_type=tenant" in page
    assert _listed(filtered, rows) == ["admin:bob"]


def test_a_commitment_is_found_by_its_whole_batch_or_tenant_id_only(
    staff_client: Client, admin_client: APIClient
) -> None:
    case = CASES[1]
    ingest_ves_case(admin_client, case)
    batch_id = create(admin_client, "ves/", case["tenant_id"], case["store_id"], 1, len(case["events"])).json()[
        "batch_id"
    ]
    link = f"/admin/commitments/commitment/{batch_id}/change/"

    found = {
        term: link in staff_client.get("/admin/commitments/commitment/", {"q": term}).content.decode()
        for term in (batch_id, case["tenant_id"], batch_id[:8], case["store_id"])
    }

    assert found == {batch_id: True, case["tenant_id"]: True, batch_id[:8]: False, case["store_id"]: False}


@pytest.mark.parametrize(
    ("index", "query"),
    [
        ("audit_log_tenant_at_idx", "SELECT id FROM audit_log WHERE tenant_id = %s ORDER BY at DESC LIMIT 100"),
        ("audit_log_actor_idx", "SELECT id FROM audit_log WHERE actor LIKE 'admin:%%' LIMIT 100"),
        ("audit_log_target_id_idx", "SELECT id FROM audit_log WHERE target_id LIKE 'ss_%%' LIMIT 100"),
        (
            "audit_log_action_at_idx",
            "SELECT id FROM audit_log WHERE action = 'api_key.create' ORDER BY at DESC LIMIT 100",
        ),
    ],
)
def test_the_audit_lists_queries_can_use_their_indexes(index: str, query: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {query}", [uuid.uuid4()] if "%s" in query else [])
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert index in plan


def test_an_unfiltered_list_of_a_large_table_is_sized_by_the_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    _audit_rows()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_log")
    estimate = estimated_rows("audit_log")
    assert estimate is not None
    assert estimate >= 3
    monkeypatch.setattr(admin_lists, "ESTIMATE_FROM", 1)

    unfiltered = EstimatedCountPaginator(AuditLogEntry.objects.order_by("-at"), 100)
    filtered = EstimatedCountPaginator(AuditLogEntry.objects.filter(actor__startswith="admin:").order_by("-at"), 100)

    assert unfiltered.count == estimate
    assert filtered.count == 2  # counted: a filter the estimate does not know


def test_a_small_table_is_counted_whatever_its_estimate() -> None:
    _audit_rows()

    assert EstimatedCountPaginator(AuditLogEntry.objects.order_by("-at"), 100).count == AuditLogEntry.objects.count()


def test_an_intent_is_found_by_its_ids_its_accounts_in_any_spelling_or_its_idempotency_key(
    staff_client: Client, owner: Persona
) -> None:
    payer = Payer(owner).register()
    body = payer.intent(nonce=1, idempotency_key="order-77")
    assert post_intent(owner.client, body).status_code == 200
    intent = PaymentIntent.objects.get(tenant_id=owner.tenant_id, idempotency_key="order-77")
    link = f"/admin/payments/paymentintent/{intent.intent_id}/change/"
    payer_digits = payer.address.removeprefix("0x")

    found = {
        term: link in staff_client.get("/admin/payments/paymentintent/", {"q": term}).content.decode()
        for term in (
            str(intent.intent_id),
            str(owner.tenant_id),
            "0X" + payer_digits.upper(),  # the account, another spelling
            payer_digits,
            "order-77",
            payer_digits[:10],  # part of an address: no account
            "order",
        )
    }

    assert found == {
        str(intent.intent_id): True,
        str(owner.tenant_id): True,
        "0X" + payer_digits.upper(): True,
        payer_digits: True,
        "order-77": True,
        payer_digits[:10]: False,
        "order": False,
    }
