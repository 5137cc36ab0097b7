"""``manage.py create_demo_staff [--username admin]``: a staff superuser for the operator admin.

Creates the user, or resets its password when it exists, and prints the new password (for
``make run``'s demo; production operators are created with ``createsuperuser``). Audited.
"""

from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from tenants.management.arguments import field_value
from tenants.services import staff_login_reset


class Command(BaseCommand):
    help = "Create (or reset) a staff login for the admin and print its password."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args: Any, **options: Any) -> None:
        username = field_value(get_user_model(), "username", options["username"], option="--username")
        login = staff_login_reset(username=username, actor="cli:create_demo_staff")
        self.stdout.write(login.password)
