"""``manage.py create_api_key --tenant UUID [--permissions read,write,admin] ...``.

Prints the key once; only its SHA-256 is stored. Audited.
"""

import uuid
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tenants.limits import API_KEY_NAME_MAX
from tenants.selectors import tenant_get
from tenants.services import api_key_create
from ves.rfc3339 import parse_rfc3339

_PERMISSIONS = {"read", "write", "admin"}


class Command(BaseCommand):
    help = "Create an API key for a tenant and print it (shown once)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--tenant", type=uuid.UUID, required=True)
        parser.add_argument("--name", default="")
        parser.add_argument("--permissions", default="read,write", help="Comma list of read, write, admin.")
        parser.add_argument("--store", type=uuid.UUID, action="append", default=[], help="Limit to a store; repeat.")
        parser.add_argument("--agent", type=uuid.UUID, default=None, help="Scope the key to one agent.")
        parser.add_argument("--rate-limit", type=int, default=None, help="Requests per minute.")
        parser.add_argument(
            "--expires-at", default=None, help="RFC 3339 instant the key stops working (default: never)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_get(tenant_id=options["tenant"])
        if tenant is None:
            raise CommandError(f"Tenant {options['tenant']} does not exist; create it with create_tenant.")
        permissions = {p.strip() for p in options["permissions"].split(",") if p.strip()}
        unknown = permissions - _PERMISSIONS
        if unknown or not permissions:
            raise CommandError(f"Permissions must be a non-empty subset of {sorted(_PERMISSIONS)}.")
        if len(options["name"]) > API_KEY_NAME_MAX or "\x00" in options["name"]:
            raise CommandError(f"--name must be at most {API_KEY_NAME_MAX} characters, with no NUL.")
        if options["rate_limit"] is not None and options["rate_limit"] <= 0:
            raise CommandError("--rate-limit must be positive.")
        expires_at = None
        if options["expires_at"] is not None:
            expires_at = parse_rfc3339(options["expires_at"])
            if expires_at is None or expires_at <= timezone.now():
                raise CommandError("--expires-at must be a future RFC 3339 timestamp, e.g. 2030-01-01T00:00:00Z.")
        issued = api_key_create(
            tenant=tenant,
            name=options["name"],
            can_read="read" in permissions,
            can_write="write" in permissions,
            can_admin="admin" in permissions,
            store_ids=options["store"],
            agent_id=options["agent"],
            rate_limit=options["rate_limit"],
            expires_at=expires_at,
            actor="cli:create_api_key",
        )
        self.stdout.write(issued.key)
