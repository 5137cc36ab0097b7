"""``manage.py changepassword``, audited: Django's command, with a ``user.update`` row naming the
changed field (never the password) written in the transaction that saves it (``audit.services``).

It shadows ``django.contrib.auth``'s command because the audit app stands before it in
``INSTALLED_APPS``; the prompts run inside that transaction, which the idle timeout leaves alone
(``createsuperuser``'s note).
"""

from __future__ import annotations

import getpass
from typing import Any

from django.contrib.auth.management.commands import changepassword

from audit.services import cli_actor, interactive_transaction, staff_change_record


class Command(changepassword.Command):
    help = "Change a user's password for django.contrib.auth (audited: user.update)."

    def handle(self, *args: Any, **options: Any) -> str:
        with interactive_transaction(options["database"]):
            outcome = super().handle(*args, **options)
            users = changepassword.UserModel._default_manager.db_manager(options["database"])
            user = users.get_by_natural_key(self._changed_username(options))
            message = [{"changed": {"fields": ["password"]}}]
            staff_change_record(actor=cli_actor("changepassword"), verb="update", target=user, message=message)
        return str(outcome)

    @staticmethod
    def _changed_username(options: dict[str, Any]) -> str:
        """The user Django's command changed: the one named, else the one running it."""
        return str(options["username"] or getpass.getuser())
