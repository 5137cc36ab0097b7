"""create_tenant and create_api_key print what an operator needs, once."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from tenants.credentials import api_key_hash
from tenants.limits import STORE_IDS_MAX
from tenants.models import ApiKey, Tenant

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


def test_create_tenant_prints_its_id() -> None:
    tenant_id = _run("create_tenant", "--name", "Acme")

    assert Tenant.objects.get(id=uuid.UUID(tenant_id)).name == "Acme"


def test_create_tenant_with_a_chosen_id_is_idempotent_only_when_asked() -> None:
    chosen = str(uuid.uuid4())
    assert _run("create_tenant", "--name", "A", "--id", chosen) == chosen
    assert _run("create_tenant", "--name", "A", "--id", chosen, "--if-missing") == chosen
    with pytest.raises(CommandError):
        _run("create_tenant", "--name", "A", "--id", chosen)


def test_create_api_key_prints_a_working_key_shown_once() -> None:
    tenant_id = _run("create_tenant", "--name", "Acme")
    store = str(uuid.uuid4())

    key = _run("create_api_key", "--tenant", tenant_id, "--permissions", "read", "--store", store, "--rate-limit", "60")

    stored = ApiKey.objects.get(key_hash=api_key_hash(key))
    assert (stored.can_read, stored.can_write, stored.can_admin) == (True, False, False)
    assert [str(s) for s in stored.store_ids] == [store]
    assert stored.rate_limit == 60
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"ApiKey {key}")
    assert client.get(f"/api/v1/head?tenant_id={tenant_id}&store_id={store}").status_code == 200


def test_create_api_key_sets_an_expiry() -> None:
    tenant_id = _run("create_tenant", "--name", "Acme")

    key = _run("create_api_key", "--tenant", tenant_id, "--expires-at", "2999-01-01T00:00:00Z")

    assert ApiKey.objects.get(key_hash=api_key_hash(key)).expires_at == datetime(2999, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "args",
    [
        ("--tenant", "00000000-0000-0000-0000-00000000abcd"),
        ("--permissions", "read,root"),
        ("--rate-limit", "0"),
        ("--expires-at", "2001-01-01T00:00:00Z"),
        ("--expires-at", "tomorrow"),
        ("--name", "n" * 1155),  # longer than the column (tenants.limits.API_KEY_NAME_MAX)
    ],
)
def test_create_api_key_refuses_bad_input(args: tuple[str, ...]) -> None:
    tenant_id = _run("create_tenant", "--name", "Acme")
    base = {"--tenant": tenant_id, "--permissions": "read"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    argv = [item for pair in base.items() for item in pair]

    with pytest.raises(CommandError):
        _run("create_api_key", *argv)


def test_create_tenant_if_missing_without_an_id_is_refused_and_creates_nothing() -> None:
    before = Tenant.objects.count()
    with pytest.raises(CommandError, match="--if-missing needs --id"):
        _run("create_tenant", "--name", "Twice", "--if-missing")
    assert Tenant.objects.count() == before


def test_create_api_key_takes_at_most_as_many_stores_as_the_api() -> None:
    tenant_id = _run("create_tenant", "--name", "Acme")
    stores = [str(uuid.uuid4()) for _ in range(STORE_IDS_MAX + 1)]
    many = [item for store in stores for item in ("--store", store)]

    with pytest.raises(CommandError, match=f"At most {STORE_IDS_MAX} --store options"):
        _run("create_api_key", "--tenant", tenant_id, *many)
    assert not ApiKey.objects.filter(tenant_id=tenant_id).exists()

    key = _run("create_api_key", "--tenant", tenant_id, *many[:-2], "--store", stores[0])
    assert len(ApiKey.objects.get(key_hash=api_key_hash(key)).store_ids) == STORE_IDS_MAX  # a repeat counts once


def test_create_demo_staff_on_a_plain_staff_login_records_the_flags_it_widened() -> None:
    from django.contrib.auth import get_user_model

    from audit.models import AuditLogEntry

    get_user_model().objects.create_user(username="plain-ops", password="x-long-password", is_staff=True)

    _run("create_demo_staff", "--username", "plain-ops")

    entry = AuditLogEntry.objects.get(target_id="plain-ops")
    assert (entry.action, entry.detail) == (
        "staff.reset_password",
        {"changed": ["is_superuser"], "old": {"is_superuser": False}, "new": {"is_superuser": True}},
    )


def test_create_demo_staff_prints_a_working_password_and_resets_it_on_rerun() -> None:
    from django.contrib.auth import authenticate

    from audit.models import AuditLogEntry

    first = _run("create_demo_staff", "--username", "demo-ops")
    second = _run("create_demo_staff", "--username", "demo-ops")

    assert first != second
    assert authenticate(username="demo-ops", password=first) is None
    user = authenticate(username="demo-ops", password=second)
    assert user is not None
    assert user.is_staff
    assert list(AuditLogEntry.objects.filter(target_id="demo-ops").order_by("id").values_list("action", flat=True)) == [
        "staff.create",
        "staff.reset_password",
    ]


@pytest.mark.parametrize(
    ("command", "option", "value", "message"),
    [
        ("create_tenant", "--name", "", "--name: This field cannot be blank."),
        ("create_tenant", "--name", "   ", "--name: This field cannot be blank."),
        ("create_tenant", "--name", "x" * 201, "--name: Ensure this value has at most 200 characters"),
        ("create_demo_staff", "--username", "", "--username: This field cannot be blank."),
        ("create_demo_staff", "--username", "y" * 151, "--username: Ensure this value has at most 150 characters"),
        ("create_demo_staff", "--username", "two words", "--username: Enter a valid username."),
    ],
)
def test_names_the_tables_cannot_take_are_refused_with_a_message_and_nothing_is_created(
    command: str, option: str, value: str, message: str
) -> None:
    from django.contrib.auth.models import User

    tenants, users = Tenant.objects.count(), User.objects.count()
    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        _run(command, option, value)
    assert (Tenant.objects.count(), User.objects.count()) == (tenants, users)


def test_names_at_the_limits_are_taken() -> None:
    from django.contrib.auth.models import User

    assert Tenant.objects.get(id=uuid.UUID(_run("create_tenant", "--name", "x" * 200))).name == "x" * 200
    _run("create_demo_staff", "--username", "y" * 150)
    assert User.objects.filter(username="y" * 150, is_staff=True).exists()


def test_reencrypt_payloads_refuses_a_tenant_that_does_not_exist() -> None:
    missing = uuid.uuid4()
    with pytest.raises(CommandError, match=f"Tenant {missing} does not exist"):
        _run("reencrypt_payloads", "--tenant", str(missing))


@pytest.mark.parametrize(
    "option",
    [
        ("create_tenant", "--name", "A", "--id"),
        ("create_api_key", "--tenant"),
        ("create_api_key", "--tenant", "{tenant}", "--store"),
        ("create_api_key", "--tenant", "{tenant}", "--agent"),
        ("projections_rebuild", "--store", "{tenant}", "--tenant"),
        ("anchor_rearm", "--tenant"),
        ("payer_account", "--account", "0x" + "ab" * 20, "--tenant"),
    ],
)
def test_ids_on_the_command_line_are_read_in_ascii_only(option: tuple[str, ...]) -> None:
    # uuid.UUID reads an Arabic-Indic digit as the digit: a mistyped id would name another
    # tenant, store or agent; the commands refuse it, as the API and the admin do.
    tenant = Tenant.objects.create(name="t")
    args = [a.replace("{tenant}", str(tenant.id)) for a in option]
    arabic = "\u0661" + str(uuid.uuid4())[1:]
    with pytest.raises(CommandError, match="not a UUID in ASCII"):
        _run(*args, arabic, *(("--name", "k", "--read") if option[0] == "create_api_key" else ()))
    assert Tenant.objects.count() == 1
    assert not ApiKey.objects.exists()
