"""``manage.py createsuperuser``, audited: Django's command, with a ``user.create`` row in the
audit log written in the transaction that creates the user (``audit.services``).

It shadows ``django.contrib.auth``'s command because the audit app stands before it in
``INSTALLED_APPS``. The prompts run inside that transaction, which the server's idle timeout
(``DB_IDLE_IN_TX_TIMEOUT_MS``) leaves alone (``audit.services.interactive_transaction``), so an
operator may take their time.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.management.commands import createsuperuser

from audit.services import cli_actor, interactive_transaction, staff_change_record


class Command(createsuperuser.Command):
    help = "Used to create a superuser (audited: user.create)."

    def handle(self, *args: Any, **options: Any) -> None:
        users = self.UserModel._default_manager.db_manager(options["database"])
        with interactive_transaction(options["database"]):
            known = set(users.values_list("pk", flat=True))
            super().handle(*args, **options)
            for user in users.exclude(pk__in=known):
                staff_change_record(actor=cli_actor("createsuperuser"), verb="create", target=user, message=[])
