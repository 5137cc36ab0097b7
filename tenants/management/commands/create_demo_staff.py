"""``manage.py create_demo_staff [--username admin]``: a staff superuser for the operator admin.

Creates the user, or resets its password when it exists, and prints the new password (for
``make run``'s demo; production operators are created with ``createsuperuser``). Audited.
"""

import secrets
from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from audit.services import audit_record


class Command(BaseCommand):
    help = "Create (or reset) a staff login for the admin and print its password."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--username", default="admin")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        password = secrets.token_urlsafe(12)
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(username=options["username"])
        user.is_staff = True
        user.is_superuser = True
        user.is_active = True
        user.set_password(password)
        user.save()
        audit_record(
            actor="cli:create_demo_staff",
            action="staff.create" if created else "staff.reset_password",
            target_type="user",
            target_id=user.get_username(),
        )
        self.stdout.write(password)
