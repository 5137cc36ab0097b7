"""``manage.py createsuperuser`` and ``changepassword`` write their audit rows in the
transaction of the change: the operator admin's staff pages already do (``audit/admin.py``)."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.contrib.auth.management.commands import changepassword
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.management.commands import changepassword as audited_changepassword
from audit.models import AuditLogEntry

pytestmark = pytest.mark.django_db(transaction=True)


def _rows(action: str) -> list[AuditLogEntry]:
    return list(AuditLogEntry.objects.filter(action=action).order_by("at"))


def test_createsuperuser_writes_a_user_create_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long enough passphrase 7")
    call_command("createsuperuser", "--noinput", username="ops-lead", email="ops@example.com", stdout=io.StringIO())

    user = User.objects.get(username="ops-lead")
    assert user.is_superuser
    assert user.is_staff
    [row] = _rows("user.create")
    assert row.actor == "cli:createsuperuser"
    assert row.target_type == "user"
    assert row.target_id == str(user.pk)
    assert row.detail == {"name": "ops-lead", "staff": True, "superuser": True, "active": True}
    assert "passphrase" not in str(row.detail)


def test_a_refused_createsuperuser_creates_nothing_and_records_nothing() -> None:
    User.objects.create_user(username="taken")
    with pytest.raises(CommandError):
        call_command("createsuperuser", "--noinput", username="", email="x@example.com", stdout=io.StringIO())
    assert User.objects.filter(is_superuser=True).count() == 0
    assert _rows("user.create") == []


def test_changepassword_writes_a_user_update_row_without_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    user = User.objects.create_user(username="night-ops", password="the old passphrase 1")
    # The terminal's two password prompts, answered: the only part of the command replaced.
    monkeypatch.setattr(changepassword.Command, "_get_pass", lambda self, prompt="": "a new passphrase 2")
    call_command("changepassword", "night-ops", stdout=io.StringIO())

    user.refresh_from_db()
    assert user.check_password("a new passphrase 2")
    [row] = _rows("user.update")
    assert row.actor == "cli:changepassword"
    assert row.target_id == str(user.pk)
    assert row.detail["changed"] == ["password"]
    assert "passphrase" not in str(row.detail)


def test_the_audited_commands_are_the_ones_manage_py_runs() -> None:
    from django.core.management import get_commands

    assert get_commands()["createsuperuser"] == "audit"
    assert get_commands()["changepassword"] == "audit"
    assert issubclass(audited_changepassword.Command, changepassword.Command)


class _Terminal(io.StringIO):
    """Standard input that says it is a terminal, so Django's command prompts."""

    def isatty(self) -> bool:
        return True


def _short_idle_timeout() -> None:
    """The session's idle-in-transaction timeout, cut from the deployment's minute to 200 ms."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET idle_in_transaction_session_timeout = 200")


def _slow_answer(answer: str) -> Callable[..., str]:
    import time

    def prompt(*args: object, **kwargs: object) -> str:
        time.sleep(0.6)  # three times the session's idle timeout
        return answer

    return prompt


def test_an_operator_may_take_longer_than_the_idle_timeout_at_createsuperuser_prompts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import builtins
    import getpass as getpass_module

    _short_idle_timeout()
    answers = iter(["slow-ops", "slow@example.com"])
    monkeypatch.setattr(builtins, "input", lambda prompt="": _slow_answer(next(answers))())
    monkeypatch.setattr(getpass_module, "getpass", _slow_answer("a slow but long passphrase 3"))
    call_command("createsuperuser", stdin=_Terminal(), stdout=io.StringIO(), stderr=io.StringIO())

    user = User.objects.get(username="slow-ops")
    assert user.is_superuser
    assert [row.target_id for row in _rows("user.create")] == [str(user.pk)]


def test_an_operator_may_take_longer_than_the_idle_timeout_at_changepassword_prompts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = User.objects.create_user(username="slow-night-ops", password="the old passphrase 1")
    _short_idle_timeout()
    monkeypatch.setattr(
        changepassword.Command, "_get_pass", lambda self, prompt="": _slow_answer("a new slow passphrase 4")()
    )
    call_command("changepassword", "slow-night-ops", stdout=io.StringIO())

    user.refresh_from_db()
    assert user.check_password("a new slow passphrase 4")
    assert [row.target_id for row in _rows("user.update")] == [str(user.pk)]
