"""``manage.py create_tenant --name NAME [--id UUID] [--if-missing]``: prints the tenant id. Audited.

The name is checked as the model's field checks it (not blank, at most 200 characters) first."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sequencer_project.command_arguments import ascii_uuid
from tenants.management.arguments import field_value
from tenants.models import Tenant
from tenants.selectors import tenant_get
from tenants.services import tenant_create


class Command(BaseCommand):
    help = "Create a tenant and print its id."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--id", type=ascii_uuid, default=None, help="Use this tenant id.")
        parser.add_argument("--if-missing", action="store_true", help="Succeed when the id already exists.")

    def handle(self, *args: Any, **options: Any) -> None:
        name = field_value(Tenant, "name", options["name"], option="--name")
        tenant_id = options["id"]
        if options["if_missing"] and tenant_id is None:
            raise CommandError("--if-missing needs --id: without an id every run creates another tenant.")
        if tenant_id is not None and (existing := tenant_get(tenant_id=tenant_id)) is not None:
            if not options["if_missing"]:
                raise CommandError(f"Tenant {tenant_id} already exists.")
            self.stdout.write(str(existing.id))
            return
        tenant = tenant_create(name=name, tenant_id=tenant_id, actor="cli:create_tenant")
        self.stdout.write(str(tenant.id))
