"""The operator admin answers hostile input with a 400 or a message, never a 500, and audits
every change to its own operators (docs/projections.md "Operator admin").

An outside test found list filters holding U+0000, keys out of a column's range and posted
action selections that are not ids reaching PostgreSQL (500); and staff users created, made
superusers and deleted with no audit row.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from audit.models import AuditLogEntry
from tests.conftest import Persona

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/admin/payments/paymentintent/?status=%00",
        "/admin/payments/paymentbatch/?network=%00",
        "/admin/payments/settlementattempt/?outcome__exact=%00",
        "/admin/payments/settlementdeadletter/?status__exact=%00",
        "/admin/events/projectiondeadletter/?status=%00",
        "/admin/audit/auditlogentry/?action=%00",
        "/admin/tenants/apikey/%00/change/",
        "/admin/tenants/apikey/%00/history/",
        "/admin/event-store/events/?tenant_id=00000000-0000-0000-0000-000000000001&store_id=00000000-0000-0000-0000-000000000001&entity_id=%00",
    ],
)
def test_unstorable_input_is_a_400_not_a_500(staff_client: Client, url: str) -> None:
    response = staff_client.get(url)
    assert response.status_code == 400, (url, response.status_code)


def test_a_key_beyond_its_columns_range_finds_nothing(staff_client: Client) -> None:
    response = staff_client.get("/admin/events/projectiondeadletter/?id__exact=99999999999999999999999")
    assert response.status_code in {200, 302}, response.status_code  # an empty list, or Django's "bad filter"


@pytest.mark.parametrize(
    ("changelist", "action", "selected"),
    [
        ("/admin/events/projectiondeadletter/", "retry_now", "abc"),
        ("/admin/events/projectiondeadletter/", "discard", "99999999999999999999999"),
        ("/admin/payments/settlementdeadletter/", "redrive", "abc"),
        ("/admin/tenants/apikey/", "revoke_keys", "\x00"),
        ("/admin/auth/user/", "delete_selected", "abc"),
        ("/admin/auth/group/", "delete_selected", "99999999999999999999999"),
    ],
)
def test_a_malformed_action_selection_changes_nothing_and_says_so(
    staff_client: Client, owner: Persona, changelist: str, action: str, selected: str
) -> None:
    audit_rows = AuditLogEntry.objects.count()

    response = staff_client.post(changelist, {"action": action, "_selected_action": [selected], "index": 0})

    assert response.status_code in {302, 400}, response.status_code
    assert AuditLogEntry.objects.count() == audit_rows


def test_staff_users_and_groups_are_audited(staff_client: Client) -> None:
    added = staff_client.post(
        "/admin/auth/user/add/",
        {"username": "second-operator", "password1": "another-long-password-1", "password2": "another-long-password-1"},
    )
    assert added.status_code == 302, added.content
    user = User.objects.get(username="second-operator")
    promoted = staff_client.post(
        f"/admin/auth/user/{user.pk}/change/",
        {
            "username": "second-operator",
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "initial-date_joined_0": "2026-01-01",
            "initial-date_joined_1": "00:00:00",
        },
    )
    assert promoted.status_code == 302, promoted.content
    password = staff_client.post(
        f"/admin/auth/user/{user.pk}/password/",
        {"password1": "a-third-long-password-1", "password2": "a-third-long-password-1", "usable_password": "true"},
    )
    assert password.status_code == 302, password.content
    group = staff_client.post("/admin/auth/group/add/", {"name": "auditors"})
    assert group.status_code == 302, group.content
    deleted = staff_client.post(
        "/admin/auth/user/",
        {"action": "delete_selected", "_selected_action": [str(user.pk)], "post": "yes", "index": 0},
    )
    assert deleted.status_code == 302, deleted.content

    rows = list(
        AuditLogEntry.objects.filter(actor="admin:operator").order_by("id").values("action", "target_id", "detail")
    )
    assert [row["action"] for row in rows] == [
        "user.create",
        "user.update",
        "user.update",
        "group.create",
        "user.delete",
    ]
    assert {row["target_id"] for row in rows if row["action"].startswith("user.")} == {str(user.pk)}
    assert rows[1]["detail"]["superuser"] is True
    assert "Staff status" in rows[1]["detail"]["changed"]
    assert all(
        "password" not in str(row["detail"]).lower() or row["detail"].get("changed") == ["password"] for row in rows
    )
    assert not User.objects.filter(username="second-operator").exists()
    assert Group.objects.filter(name="auditors").exists()
